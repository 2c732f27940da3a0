/**
 * The core promise, end to end through the real SDK clients: fauxqs (SQS), stepfunctions-local
 * (Step Functions) behind a recording proxy, and the relay in-process.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TRUNCATION_MARKER } from '../../src/core/event.js';
import { readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import { loadConfig } from '../../src/service/config.js';
import { type Service, startService } from '../../src/service/service.js';
import {
  createActivityMachine,
  executionFailure,
  queueCounts,
  startExecutionsWithTokens,
} from '../support/emulators.js';
import { drainQueue, publish } from '../support/queue.js';
import { sumMetric } from '../support/relayProcess.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();

function captureLogs(): { stream: Writable; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => lines.join('') };
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

// Both SendTaskFailure paths: the lean client (default) and the AWS SDK (SFN_CLIENT=sdk).
describe.each(['lean', 'sdk'])('relay end to end (SFN_CLIENT=%s)', (client) => {
  it('fails each task once, drops duplicates, dead-letters poison with its reason, empties the queue', async () => {
    const sourceName = `core-${client}`;
    const source = await emu.sqs.createQueue(sourceName);
    const dlq = await emu.sqs.createQueue(`${sourceName}-dlq`);
    const machine = await createActivityMachine(emu.sfn.client, sourceName);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 9);
    const t = (i: number) => tasks[i]?.token ?? '';

    const longError = `E${'x'.repeat(299)}`;
    const expected = new Map<number, { error: string; cause: string }>();
    const plain = (i: number, error: string, cause: string) => {
      expected.set(i, { error, cause });
      return JSON.stringify({ taskToken: t(i), error, cause });
    };
    // Hand-made SNS envelopes, beside the real deliveries of fifo.test.ts: they keep the
    // fields fauxqs may not fill as real SNS does, and a broken Message.
    const sns = (inner: string) =>
      JSON.stringify({ Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: inner });
    const eventBridge = (i: number, error: string, cause: string) => {
      expected.set(i, { error, cause });
      return JSON.stringify({
        version: '0',
        'detail-type': 'Task Failed',
        source: 'test',
        detail: { taskToken: t(i), error, cause },
      });
    };

    const poison: { body: string; reason: string }[] = [
      { body: 'not json at all', reason: 'body_not_json' },
      { body: '{"taskToken": "abc"', reason: 'body_not_json' },
      { body: '[1,2,3]', reason: 'body_not_object' },
      { body: '{"error":"E"}', reason: 'token_missing' },
      { body: '{"taskToken":""}', reason: 'token_empty' },
      { body: '{"taskToken":42}', reason: 'token_not_string' },
      { body: '{"taskToken":"has space"}', reason: 'token_invalid_character' },
      { body: JSON.stringify({ taskToken: 'a'.repeat(2049) }), reason: 'token_too_long' },
      { body: '{"taskToken":"ok","__proto__":{"polluted":true}}', reason: 'forbidden_key' },
      { body: sns('this is not json'), reason: 'sns_message_not_json' },
      { body: JSON.stringify({ 'detail-type': 'x', source: 'y' }), reason: 'eventbridge_detail_missing' },
      { body: '{"taskToken":"4f8c2a8e-0000-4000-8000-000000000000"}', reason: 'sfn_task_does_not_exist' },
    ];

    const withTrace = {
      body: plain(0, 'States.Custom', 'zero'),
      attributes: {
        traceparent: { DataType: 'String', StringValue: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
    };
    // Three copies of token 0 and two of token 1 in the first batch: in-batch duplicates.
    await publish(emu.sqs.client, source, [
      withTrace,
      plain(0, 'States.Custom', 'zero'),
      plain(0, 'States.Custom', 'zero'),
      plain(1, 'Err1', 'cause one'),
      plain(1, 'Err1', 'cause one'),
      plain(2, 'Err2', 'cause two'),
      sns(plain(3, 'Err3', 'via SNS')),
      sns(plain(4, 'Err4', 'via SNS too')),
      eventBridge(5, 'Err5', 'via EventBridge'),
      eventBridge(6, 'Err6', 'via EventBridge too'),
    ]);
    await publish(emu.sqs.client, source, [
      plain(7, 'Err7', ''),
      JSON.stringify({ taskToken: t(8), error: longError, cause: 'long error', extra: 'ignored' }),
      ...poison.map((p) => p.body),
    ]);

    const logs = captureLogs();
    const config = loadConfig({
      SOURCE_QUEUE_URL: source,
      DLQ_URL: dlq,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
      HTTP_PORT: '0',
      POLLERS: '2',
      WAIT_TIME_SECONDS: '1',
      LOG_LEVEL: 'debug',
      // Every call is counted: a client timeout on a loaded machine must not cause a second one.
      SFN_REQUEST_TIMEOUT_MS: '30000',
      SFN_CLIENT: client,
    });
    const service: Service = await startService(config, { logDestination: logs.stream });
    try {
      await waitFor(
        'every message to leave the source queue',
        () => queueCounts(emu.sqs.server, sourceName).total === 0,
      );

      // Cross-batch duplicates: after the first copy is done, two more copies arrive.
      await publish(emu.sqs.client, source, [plain(2, 'Err2', 'cause two'), sns(plain(3, 'Err3', 'via SNS'))]);
      await waitFor('the late duplicates to be consumed', async () => {
        const text = await scrape(service.port);
        return sumMetric(text, 'sfn_relay_messages_finished_total', { outcome: 'duplicate' }) >= 5;
      });

      // Every valid execution failed with exactly the published error and cause.
      for (let i = 0; i < 9; i += 1) {
        const f = await waitFor(`execution ${i} to fail`, async () => {
          const r = await executionFailure(emu.sfn.client, tasks[i]?.executionArn ?? '');
          return r.status === 'FAILED' && r.activityFailedEvents > 0 ? r : undefined;
        });
        if (i === 8) {
          expect(f.error).toBe(longError.slice(0, 256 - TRUNCATION_MARKER.length) + TRUNCATION_MARKER);
          expect(f.error).toHaveLength(256);
          expect(f.cause).toBe('long error');
        } else if (i === 7) {
          // stepfunctions-local drops empty strings from history events.
          expect(f.error).toBe('Err7');
        } else {
          expect(f, `execution ${i}`).toMatchObject(expected.get(i) ?? {});
        }
        expect(f.activityFailedEvents).toBe(1);
      }

      // SendTaskFailure reached Step Functions exactly once per unique token.
      // (stepfunctions-local is patched to answer TaskTimedOut to a second call, as Step Functions
      // does, so "no second call at all" is checked separately from "one success".)
      const successes = emu.proxy.successesByToken();
      const forwarded = emu.proxy.forwardedByToken();
      for (const task of tasks) {
        expect(successes.get(task.token)).toBe(1);
        expect(forwarded.get(task.token)).toBe(1);
      }

      // Every poison message is in the DLQ with its reason and its original body.
      const dead = await drainQueue(emu.sqs.client, dlq);
      expect(dead).toHaveLength(poison.length);
      const byBody = new Map(dead.map((m) => [m.Body, m]));
      for (const p of poison) {
        const m = byBody.get(p.body);
        expect(m, `DLQ message for ${p.reason}`).toBeDefined();
        const info = m === undefined ? undefined : readDeadLetterInfo(m);
        expect(info?.reason).toBe(p.reason);
        expect(info?.detail.length).toBeGreaterThan(0);
        expect(info?.receiveCount).toBe(1);
        expect(info?.sourceMessageId).toMatch(/\S/);
      }
      // Poison goes to the DLQ at once: one receive each, no retries.
      expect(queueCounts(emu.sqs.server, sourceName).total).toBe(0);

      // Metrics count what happened, by outcome.
      const text = await scrape(service.port);
      expect(sumMetric(text, 'sfn_relay_messages_finished_total', { outcome: 'failed' })).toBe(9);
      expect(sumMetric(text, 'sfn_relay_messages_finished_total', { outcome: 'duplicate' })).toBe(5);
      expect(
        sumMetric(text, 'sfn_relay_messages_finished_total', { outcome: 'dead_lettered', reason: 'body_not_json' }),
      ).toBe(2);
      // Every receive ends in exactly one outcome (a copy handed back as "busy" is received again).
      const finishedTotal = ['failed', 'already_closed', 'duplicate', 'dead_lettered', 'retry_later']
        .map((outcome) => sumMetric(text, 'sfn_relay_messages_finished_total', { outcome }))
        .reduce((a, b) => a + b, 0);
      expect(sumMetric(text, 'sfn_relay_messages_received_total', {})).toBe(finishedTotal);
      expect(finishedTotal - sumMetric(text, 'sfn_relay_messages_finished_total', { outcome: 'retry_later' })).toBe(
        10 + 2 + poison.length + 2,
      );

      const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      expect(ready.status).toBe(200);
      const live = await fetch(`http://127.0.0.1:${service.port}/healthz`);
      expect(live.status).toBe(200);
    } finally {
      await service.stop();
    }

    // No task token in any log line (they are credentials).
    const text = logs.text();
    expect(text).toContain('message finished');
    for (const task of tasks) expect(text).not.toContain(task.token);
  });
});
