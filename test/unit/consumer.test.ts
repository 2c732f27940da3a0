/**
 * The real Pollers (real sqs-consumer instances) against a fake SQS, driven through many breaker
 * cycles with batches still in their calls when each cycle starts: the number of batches in
 * flight never exceeds POLLERS, and a probe is the only message in flight.
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Pollers } from '../../src/pipeline/consumer.js';
import { waitFor } from '../support/wait.js';

const POLLERS = 4;

/** An endless queue: receives answer at once while `available`, else long-poll until aborted. */
function fakeSqs(state: { available: boolean; receives: number; maxRequested: number[] }): SQSClient {
  let n = 0;
  return {
    send: (command: unknown, options?: { abortSignal?: AbortSignal }) => {
      if (!(command instanceof ReceiveMessageCommand)) return Promise.resolve({});
      state.receives += 1;
      const max = command.input.MaxNumberOfMessages ?? 1;
      state.maxRequested.push(max);
      return new Promise((resolve, reject) => {
        const answer = () =>
          resolve({
            Messages: Array.from({ length: max }, (): Message => {
              n += 1;
              return { MessageId: `m${n}`, ReceiptHandle: `r${n}`, Body: '{}' };
            }),
          });
        if (state.available) {
          setTimeout(answer, 1);
          return;
        }
        const signal = options?.abortSignal;
        signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), {
          once: true,
        });
      });
    },
  } as unknown as SQSClient;
}

let pollers: Pollers | undefined;
afterEach(() => pollers?.stop());

function makePollers(n: number, sqs: SQSClient, handleBatch: (m: Message[]) => Promise<void>): Pollers {
  pollers = new Pollers(
    { queueUrl: 'https://sqs.test/1/q', pollers: n, batchSize: 10, waitTimeSeconds: 20, visibilityTimeoutSeconds: 30 },
    { sqs, logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), handleBatch },
  );
  return pollers;
}

describe('Pollers through breaker cycles', () => {
  it('never runs more than POLLERS batches, and a probe alone, through 12 open → half-open → closed cycles', async () => {
    const sqs = { available: true, receives: 0, maxRequested: [] as number[] };
    let inFlightBatches = 0;
    let inFlightMessages = 0;
    let maxBatches = 0;
    const violations: string[] = [];
    const probes: number[] = [];
    const p: Pollers = makePollers(POLLERS, fakeSqs(sqs), async (messages) => {
      inFlightBatches += 1;
      inFlightMessages += messages.length;
      maxBatches = Math.max(maxBatches, inFlightBatches);
      if (inFlightBatches > POLLERS) violations.push(`${inFlightBatches} batches in flight`);
      if (p.mode === 'probing') {
        probes.push(messages.length);
        if (inFlightMessages !== 1) violations.push(`probe with ${inFlightMessages} messages in flight`);
      }
      // Calls that take a while, so batches are mid-call when the breaker opens.
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 60));
      inFlightBatches -= 1;
      inFlightMessages -= messages.length;
    });
    p.start();
    for (let cycle = 0; cycle < 12; cycle += 1) {
      await waitFor('every poller mid-batch', () => inFlightBatches === POLLERS, { intervalMs: 1 });
      p.pause(); // open
      p.probe(); // half-open at once, while the batches of before are still in their calls
      const before = probes.length;
      await waitFor('the probe batch', () => probes.length > before, { intervalMs: 1 });
      p.resume(); // the probe succeeded: closed
    }
    await waitFor('every poller busy again', () => inFlightBatches === POLLERS, { intervalMs: 1 });
    p.stop();
    await waitFor('batches to finish', () => inFlightBatches === 0);
    expect(violations).toEqual([]);
    expect(maxBatches).toBe(POLLERS);
    expect(probes.every((n) => n === 1)).toBe(true);
    expect(probes.length).toBeGreaterThanOrEqual(12);
  });

  it('cuts off long polls in flight when intake pauses, and receives nothing while paused', async () => {
    const sqs = { available: false, receives: 0, maxRequested: [] as number[] };
    const batches: number[] = [];
    const p = new Pollers(
      {
        queueUrl: 'https://sqs.test/1/q',
        pollers: 2,
        batchSize: 10,
        waitTimeSeconds: 20,
        visibilityTimeoutSeconds: 30,
      },
      {
        sqs: fakeSqs(sqs),
        logger: createLogger('silent'),
        metrics: createMetrics({ defaultMetrics: false }),
        handleBatch: async (m) => {
          batches.push(m.length);
        },
      },
    );
    pollers = p;
    p.start();
    await waitFor('both pollers in a long poll', () => sqs.receives === 2);
    p.pause();
    sqs.available = true;
    // The cut-off polls are re-issued only to wait at the gate: nothing reaches SQS while paused.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sqs.receives).toBe(2);
    expect(batches).toEqual([]);
    p.probe();
    await waitFor('one probe batch', () => batches.length >= 1);
    expect(batches[0]).toBe(1);
    p.resume();
    await waitFor('full batches again', () => batches.some((n) => n === 10));
  });
});
