/** The producer API for every kind: what it checks before sending and what it sends (SQS client mocked). */
import type { SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkOutput as checkTaskOutput, OUTPUT_MAX_BYTES } from '../../src/core/eventKind.js';
import { InvalidEventError, publishTaskFailure, publishTaskHeartbeat, publishTaskSuccess } from '../../src/index.js';

function fakeSqs() {
  const sent: { MessageBody: string; MessageDeduplicationId?: string }[] = [];
  const sqs = {
    send: async (command: { input: { MessageBody: string; MessageDeduplicationId?: string } }) => {
      sent.push(command.input);
      return { MessageId: `m${sent.length}` };
    },
  } as unknown as SQSClient;
  return { sqs, sent };
}

describe('checkTaskOutput', () => {
  it('takes JSON text up to 262,144 UTF-8 bytes and gives the relay reason for anything else', () => {
    const quoted = (chars: string) => JSON.stringify(chars);
    expect(checkTaskOutput(quoted('x'.repeat(OUTPUT_MAX_BYTES - 2)))).toMatchObject({ ok: true });
    expect(checkTaskOutput(quoted('x'.repeat(OUTPUT_MAX_BYTES - 1)))).toMatchObject({
      ok: false,
      reason: 'output_too_large',
    });
    // Counted in bytes, not characters: 3 bytes each.
    expect(checkTaskOutput(quoted('€'.repeat(87_381)))).toMatchObject({ ok: false, reason: 'output_too_large' });
    expect(checkTaskOutput(quoted('€'.repeat(87_380)))).toMatchObject({ ok: true });
    expect(checkTaskOutput(undefined)).toMatchObject({ ok: false, reason: 'output_missing' });
    expect(checkTaskOutput({ a: 1 })).toMatchObject({ ok: false, reason: 'output_not_string' });
    expect(checkTaskOutput('{"a":')).toMatchObject({ ok: false, reason: 'output_not_json' });
    expect(checkTaskOutput('')).toMatchObject({ ok: false, reason: 'output_not_json' });
    // The detail never quotes the output (it may be the task's data).
    const secret = 'not json secret-value';
    expect(JSON.stringify(checkTaskOutput(secret))).not.toContain('secret-value');
  });

  it('accepts every JSON value within the limit and refuses every text JSON.parse refuses', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        expect(checkTaskOutput(text).ok).toBe(Buffer.byteLength(text) <= OUTPUT_MAX_BYTES);
      }),
      { seed: 25, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        let json = true;
        try {
          JSON.parse(s);
        } catch {
          json = false;
        }
        expect(checkTaskOutput(s).ok).toBe(json);
      }),
      { seed: 25, numRuns: 300 },
    );
  });
});

describe('publishTaskFailure', () => {
  it('publishes failures only: a success or heartbeat body is refused, never sent under the failure name', async () => {
    const { sqs, sent } = fakeSqs();
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/1/relay';
    await publishTaskFailure({ taskToken: 'tok', error: 'E' }, { sqs, queueUrl });
    expect(sent.map((s) => s.MessageBody)).toEqual(['{"taskToken":"tok","error":"E"}']);
    for (const body of [
      { taskToken: 'tok', output: '{}' },
      { taskToken: 'tok', kind: 'heartbeat' },
      { taskToken: 'tok', kind: 'success', output: '{}' },
    ]) {
      await expect(publishTaskFailure(body as never, { sqs, queueUrl })).rejects.toMatchObject({
        reason: 'kind_not_enabled',
      });
    }
    expect(sent).toHaveLength(1);
  });
});

describe('publishTaskSuccess / publishTaskHeartbeat', () => {
  it('send the body of the contract, and nothing when the relay would refuse it', async () => {
    const { sqs, sent } = fakeSqs();
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/1/relay';
    await publishTaskSuccess({ taskToken: 'tok', output: '{"a":1}' }, { sqs, queueUrl });
    await publishTaskHeartbeat({ taskToken: 'tok' }, { sqs, queueUrl });
    expect(sent.map((s) => s.MessageBody)).toEqual([
      '{"taskToken":"tok","output":"{\\"a\\":1}","kind":"success"}',
      '{"taskToken":"tok","kind":"heartbeat"}',
    ]);
    await expect(publishTaskSuccess({ taskToken: 'tok', output: 'nope' }, { sqs, queueUrl })).rejects.toMatchObject({
      reason: 'output_not_json',
    });
    await expect(publishTaskHeartbeat({ taskToken: 'a\nb' }, { sqs, queueUrl })).rejects.toBeInstanceOf(
      InvalidEventError,
    );
    expect(sent).toHaveLength(2);
  });

  it('give each heartbeat on a FIFO queue its own deduplication id, a success the hash of its body', async () => {
    const { sqs, sent } = fakeSqs();
    const options = { sqs, queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/relay.fifo', messageGroupId: 'g' };
    await publishTaskHeartbeat({ taskToken: 'tok' }, options);
    await publishTaskHeartbeat({ taskToken: 'tok' }, options);
    await publishTaskSuccess({ taskToken: 'tok', output: '{}' }, options);
    await publishTaskSuccess({ taskToken: 'tok', output: '{}' }, options);
    const [b1, b2, s1, s2] = sent.map((s) => s.MessageDeduplicationId);
    expect(b1).not.toBe(b2);
    expect(s1).toMatch(/^[0-9a-f]{64}$/);
    expect(s1).toBe(s2);
  });

  it('wrap in a CloudEvent whose default type names the kind', async () => {
    const { sqs, sent } = fakeSqs();
    const options = { sqs, queueUrl: 'https://q/1/relay', cloudEvent: { source: '//w' } };
    await publishTaskSuccess({ taskToken: 'tok', output: '1' }, options);
    await publishTaskHeartbeat({ taskToken: 'tok' }, options);
    const events = sent.map((s) => JSON.parse(s.MessageBody) as { type: string; data: { kind: string } });
    expect(events.map((e) => [e.type, e.data.kind])).toEqual([
      ['sfn-failure-relay.task-success', 'success'],
      ['sfn-failure-relay.task-heartbeat', 'heartbeat'],
    ]);
  });
});
