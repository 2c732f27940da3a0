/** Settling a batch: DLQ entries routed as the DLQ requires (FIFO group and deduplication id). */
import { createHash } from 'node:crypto';
import type { Message, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import type { Outcome } from '../../src/core/outcome.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DEFAULT_DLQ_GROUP } from '../../src/pipeline/deadLetter.js';
import { type Finished, Settler } from '../../src/pipeline/settle.js';

/** Settles dead-lettered messages and answers the entries the relay sent to the DLQ. */
async function dlqEntries(messages: Message[], dlqFifo: boolean): Promise<SendMessageBatchRequestEntry[]> {
  const sent: SendMessageBatchRequestEntry[] = [];
  const sqs = {
    send: async (command: { constructor: { name: string }; input: { Entries?: SendMessageBatchRequestEntry[] } }) => {
      if (command.constructor.name === 'SendMessageBatchCommand') sent.push(...(command.input.Entries ?? []));
      return { Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
    },
  } as unknown as SQSClient;
  const settler = new Settler(
    { sourceQueueUrl: 'https://sqs/1/source', dlqUrl: 'https://sqs/1/dlq', dlqFifo },
    { sqs, metrics: createMetrics({ defaultMetrics: false }), logger: createLogger('silent'), now: () => 0 },
  );
  const outcome: Outcome = { kind: 'deadLetter', reason: 'body_not_json', detail: 'no JSON' };
  const finished: Finished[] = messages.map((message) => ({
    message,
    receiveCount: 1,
    outcome,
    hash: undefined,
    origin: undefined,
    fate: () => outcome,
    span: trace.getTracer('test').startSpan('process'),
    ctx: ROOT_CONTEXT,
  }));
  await settler.settle(finished);
  return sent;
}

const dedupId = (id: string) => createHash('sha256').update(`sfn-relay:dlq:${id}`).digest('hex');

describe('DLQ routing', () => {
  it('gives every entry for a FIFO DLQ its source group (or the default) and a deduplication id from the message id', async () => {
    const entries = await dlqEntries(
      [
        { MessageId: 'm-1', ReceiptHandle: 'r1', Body: 'x', Attributes: { MessageGroupId: 'orders' } },
        { MessageId: 'm-2', ReceiptHandle: 'r2', Body: 'y' },
      ],
      true,
    );
    expect(entries.map((e) => [e.MessageGroupId, e.MessageDeduplicationId])).toEqual([
      ['orders', dedupId('m-1')],
      [DEFAULT_DLQ_GROUP, dedupId('m-2')],
    ]);
  });

  it('keeps a fair-queue group on a standard DLQ, and sends no deduplication id there', async () => {
    const entries = await dlqEntries(
      [
        { MessageId: 'm-1', ReceiptHandle: 'r1', Body: 'x', Attributes: { MessageGroupId: 'tenant-a' } },
        { MessageId: 'm-2', ReceiptHandle: 'r2', Body: 'y' },
      ],
      false,
    );
    expect(entries.map((e) => [e.MessageGroupId, e.MessageDeduplicationId])).toEqual([
      ['tenant-a', undefined],
      [undefined, undefined],
    ]);
  });
});
