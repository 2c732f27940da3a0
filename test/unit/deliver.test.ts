/** The delivery step: an interruption is known from the relay's own signal, never from an answer. */
import { describe, expect, it } from 'vitest';
import type { CallbackEvent, FailureEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { decide, type Evidence } from '../../src/core/outcome.js';
import type { SendResult } from '../../src/core/sendResult.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Deliverer } from '../../src/pipeline/deliver.js';
import { SendBreaker } from '../../src/state/breaker.js';
import { MemoryDedupStore } from '../../src/state/dedup/memory.js';
import { createLimiter } from '../../src/state/rateLimit.js';
import { FATE } from '../support/fate.js';

const event: FailureEvent = { kind: 'failure', taskToken: 'tok-0123456789abcdef', error: 'E', cause: 'C' };
const hooks = { claimed: () => undefined, settled: () => undefined };

function deliverer(send: (e: CallbackEvent) => Promise<SendResult>, perSecond = 0) {
  const logger = createLogger('silent');
  return new Deliverer(
    { visibilityTimeoutSeconds: 30, failureTtlSeconds: 3600, dedupTtlSeconds: 3600 },
    {
      dedup: new MemoryDedupStore(),
      limiter: createLimiter({ perSecond, redis: undefined, keyPrefix: 'p:', logger }),
      breaker: new SendBreaker({ threshold: 4, halfOpenAfterMs: 1000 }),
      metrics: createMetrics({ defaultMetrics: false }),
      logger,
      send,
    },
  );
}

describe('delivery', () => {
  it('hands back as interrupted (visibility 0) when the relay aborted the batch, without calling Step Functions', async () => {
    let calls = 0;
    const d = deliverer(async () => {
      calls += 1;
      return { ok: true, attempts: 1 };
    });
    const seen: Evidence[] = [];
    const fate = (e: Evidence, own: number) => {
      seen.push(e);
      return decide(e, { ...FATE, ownFailures: own });
    };
    const aborted = new AbortController();
    aborted.abort(new Error('interrupted'));
    expect(await d.deliver(event, 'h1', aborted.signal, fate, hooks)).toEqual({
      kind: 'retryLater',
      delaySeconds: 0,
      cause: 'interrupted',
    });
    // Waiting on the rate limit when the abort comes: interrupted too.
    const slow = deliverer(async () => ({ ok: true, attempts: 1 }), 1);
    const waiting = new AbortController();
    await slow.deliver(event, 'h2', new AbortController().signal, fate, hooks);
    const pending = slow.deliver({ ...event, taskToken: 'tok-2' }, 'h3', waiting.signal, fate, hooks);
    waiting.abort(new Error('interrupted'));
    expect(await pending).toMatchObject({ kind: 'retryLater', cause: 'interrupted' });
    expect(calls).toBe(0);
  });

  it('counts an endpoint answering AbortError against the message: it ends at MAX_RECEIVES', async () => {
    const d = deliverer(async () => ({
      ok: false,
      errorName: 'AbortError',
      httpStatus: 400,
      attempts: 1,
      message: 'no',
    }));
    let last: unknown;
    for (let receive = 1; receive <= FATE.maxReceives; receive += 1) {
      last = await d.deliver(
        event,
        'h',
        new AbortController().signal,
        (e, own) => decide(e, { ...FATE, receiveCount: receive, ownFailures: own }),
        hooks,
      );
    }
    expect(last).toMatchObject({ kind: 'deadLetter', reason: 'retries_exhausted' });
  });
});
