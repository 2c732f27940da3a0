/** The CLI's pure parts: token masking, redrive entries, the native move task (SDK mocked). */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, UsageError } from '../../src/cli/common.js';
import { formatDetailed, maskTokens, toRow } from '../../src/cli/dlqRead.js';
import { redrive, redriveEntry } from '../../src/cli/redrive.js';
import { redriveNative } from '../../src/cli/redriveNative.js';
import { redriveHopeless } from '../../src/core/outcome.js';
import { shortHash, tokenHash } from '../../src/core/secret.js';
import { DEAD_LETTER_ATTRIBUTE } from '../../src/pipeline/deadLetter.js';

const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAQ+secret/Token==';

describe('maskTokens', () => {
  it('masks the token in plain, SNS and EventBridge bodies, and in bodies the relay could not parse', () => {
    const mask = `<token ${shortHash(tokenHash(TOKEN))}>`;
    const plain = JSON.stringify({ taskToken: TOKEN, error: 'E' });
    expect(maskTokens(plain)).toBe(JSON.stringify({ taskToken: mask, error: 'E' }));
    const sns = JSON.stringify({ Type: 'Notification', Message: plain });
    expect(maskTokens(sns)).not.toContain(TOKEN);
    const eventBridge = JSON.stringify({ 'detail-type': 'x', detail: { taskToken: TOKEN } });
    expect(maskTokens(eventBridge)).toContain(mask);
    // Broken JSON, or a token the relay refused: still masked.
    expect(maskTokens(`{"taskToken":"${TOKEN}", broken`)).not.toContain(TOKEN);
    expect(maskTokens('{"taskToken":"short tok"}')).toBe(
      `{"taskToken":"<token ${shortHash(tokenHash('short tok'))}>"}`,
    );
    // Anything token-shaped elsewhere, as a second line of defence.
    expect(maskTokens(`note ${'Z'.repeat(40)}`)).toBe('note <redacted>');
    expect(maskTokens('nothing secret here')).toBe('nothing secret here');
  });
});

describe('redrive', () => {
  it('puts the message back as the producer sent it, with its group, and a deduplication id on FIFO', () => {
    const m = {
      MessageId: 'dlq-1',
      Body: 'b',
      Attributes: { MessageGroupId: 'tenant-7' },
      MessageAttributes: {
        producer: { DataType: 'String', StringValue: 'p' },
        traceparent: { DataType: 'String', StringValue: '00-relay-01' },
        [DEAD_LETTER_ATTRIBUTE]: {
          DataType: 'String',
          StringValue: JSON.stringify({
            reason: 'retries_exhausted',
            relayAttributes: ['traceparent'],
            overflowAttributes: { traceparent: { DataType: 'String', StringValue: '00-producer-01' } },
          }),
        },
      },
    };
    const standard = redriveEntry('0', m, 'https://sqs/1/q');
    expect(standard).toEqual({
      Id: '0',
      MessageBody: 'b',
      MessageGroupId: 'tenant-7',
      MessageAttributes: {
        producer: { DataType: 'String', StringValue: 'p' },
        traceparent: { DataType: 'String', StringValue: '00-producer-01' },
      },
    });
    const fifo = redriveEntry('0', m, 'https://sqs/1/q.fifo');
    expect(fifo.MessageGroupId).toBe('tenant-7');
    expect(fifo.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(redriveEntry('0', { ...m, Attributes: {} }, 'https://sqs/1/q.fifo').MessageGroupId).toBe(
      'sfn-relay-redrive',
    );
  });

  it('knows which reasons can never succeed on a redrive', () => {
    expect(redriveHopeless('retries_exhausted')).toBeUndefined();
    expect(redriveHopeless('none')).toBeUndefined();
    expect(redriveHopeless('sfn_invalid_token')).toMatch(/refused the token/);
    expect(redriveHopeless('body_not_json')).toMatch(/body itself is invalid/);
    expect(redriveHopeless('token_invalid_character')).toMatch(/body itself is invalid/);
  });

  it('sends large DLQ messages back in batches within the SQS batch payload limit', async () => {
    // 10 messages of 100 KB: one SendMessageBatch of all of them would be refused (BatchRequestTooLong).
    const dlq = Array.from({ length: 10 }, (_, i) => ({
      MessageId: `m${i}`,
      ReceiptHandle: `r${i}`,
      Body: JSON.stringify({ taskToken: `t${i}`, pad: 'p'.repeat(100_000) }),
    }));
    let received = false;
    const batches: number[] = [];
    const sqs = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        switch (command.constructor.name) {
          case 'GetQueueAttributesCommand':
            return { Attributes: { ApproximateNumberOfMessages: '10' } };
          case 'ReceiveMessageCommand':
            if (received) return { Messages: [] };
            received = true;
            return { Messages: dlq };
          case 'SendMessageBatchCommand': {
            const entries = command.input.Entries as { Id: string; MessageBody: string }[];
            const bytes = entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0);
            if (bytes > 262_144) throw Object.assign(new Error('too long'), { name: 'BatchRequestTooLong' });
            batches.push(entries.length);
            return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: `new-${e.Id}-${batches.length}` })) };
          }
          case 'DeleteMessageBatchCommand':
            return { Successful: (command.input.Entries as { Id: string }[]).map((e) => ({ Id: e.Id })) };
          default:
            return {};
        }
      },
    } as unknown as SQSClient;
    const summary = await redrive(sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', {
      max: Number.POSITIVE_INFINITY,
      filter: { reason: undefined, olderThanMs: undefined, newerThanMs: undefined },
      dryRun: false,
      force: false,
    });
    expect(summary).toMatchObject({ moved: 10, failed: 0 });
    expect(batches.reduce((a, b) => a + b, 0)).toBe(10);
    expect(batches.length).toBeGreaterThan(1);
  });

  it('natively: starts StartMessageMoveTask from the DLQ to the source queue and waits for it to end', async () => {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    let polls = 0;
    const sqs = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input });
        switch (command.constructor.name) {
          case 'GetQueueAttributesCommand':
            return { Attributes: { QueueArn: `arn:${String(command.input.QueueUrl)}` } };
          case 'StartMessageMoveTaskCommand':
            return { TaskHandle: 'h' };
          default:
            polls += 1;
            return {
              Results: [
                polls < 3
                  ? {
                      Status: 'RUNNING',
                      ApproximateNumberOfMessagesMoved: 10 * polls,
                      ApproximateNumberOfMessagesToMove: 30,
                    }
                  : {
                      Status: 'COMPLETED',
                      ApproximateNumberOfMessagesMoved: 30,
                      ApproximateNumberOfMessagesToMove: 30,
                    },
              ],
            };
        }
      },
    } as unknown as SQSClient;
    const progress: number[] = [];
    const r = await redriveNative(sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', {
      ratePerSecond: 50,
      pollMs: 1,
      onProgress: (moved) => progress.push(moved),
    });
    expect(r).toEqual({ status: 'COMPLETED', moved: 30, toMove: 30, failureReason: undefined });
    expect(progress).toEqual([10, 20, 30]);
    expect(sent.find((c) => c.name === 'StartMessageMoveTaskCommand')?.input).toEqual({
      SourceArn: 'arn:https://sqs/1/dlq',
      DestinationArn: 'arn:https://sqs/1/src',
      MaxNumberOfMessagesPerSecond: 50,
    });
  });
});

describe('dlq inspect', () => {
  it('shows where a message came from: envelopes, topic, CloudEvent, sender', () => {
    const info = {
      reason: 'sender_not_allowed',
      detail: 'SenderId "000000000000" is not in ALLOWED_SENDERS',
      sourceMessageId: 's1',
      receiveCount: 1,
      deadLetteredAt: '2026-11-29T12:00:00.000Z',
      origin: {
        envelope: 'sns>cloudevent',
        snsTopicArn: 'arn:aws:sns:eu-west-1:111122223333:failures',
        cloudEventSource: 'payment-worker',
        cloudEventType: 'com.dapr.event.sent',
        cloudEventId: 'e1',
      },
      sender: '000000000000',
    };
    const row = toRow(
      {
        MessageId: 'm1',
        Body: 'x',
        MessageAttributes: { [DEAD_LETTER_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(info) } },
      },
      Date.now(),
    );
    expect(formatDetailed([row])).toContain(
      '  from:     sns>cloudevent  topic arn:aws:sns:eu-west-1:111122223333:failures  cloudevent payment-worker com.dapr.event.sent e1  sender 000000000000\n',
    );
    // Nothing recorded, no line.
    expect(formatDetailed([toRow({ MessageId: 'm2', Body: 'x' }, Date.now())])).not.toContain('from:');
  });
});

describe('exit codes', () => {
  it('are the AWS CLI v2 codes', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(252);
    expect(exitCodeOf(Object.assign(new Error('x'), { name: 'CredentialsProviderError' }))).toBe(253);
    expect(
      exitCodeOf(Object.assign(new Error('x'), { name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } })),
    ).toBe(254);
    expect(exitCodeOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(255);
  });
});
