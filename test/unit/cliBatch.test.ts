/**
 * The CLI tells the truth when SQS refuses part of a batch (an SQS fake that refuses per entry),
 * masks producer values in the relay's record, and prints the token hash the logs print.
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { deleteMessages } from '../../src/cli/batch.js';
import { EXIT, exitCodeOf } from '../../src/cli/common.js';
import { formatDetailed, formatTable, shown, toRow } from '../../src/cli/dlqRead.js';
import { redrive } from '../../src/cli/redrive.js';
import { describe as describeSummary, redriveEnding } from '../../src/cli/redriveReport.js';
import { shortHash, tokenHash } from '../../src/core/secret.js';
import { DEAD_LETTER_ATTRIBUTE } from '../../src/pipeline/deadLetter.js';
import { compareQueues, type QueueFacts } from '../../src/pipeline/preflight.js';
import { loadConfig } from '../../src/service/config.js';
import { REDRIVE_OPTIONS } from '../support/redrive.js';

type Command = { constructor: { name: string }; input: Record<string, unknown> };
type Entry = { Id: string; ReceiptHandle?: string; MessageBody?: string };

const OPTIONS = REDRIVE_OPTIONS;

/** A standard DLQ of `n` messages; `deleteAnswer` decides, per receipt handle and attempt, how SQS answers. */
function fakeSqs(
  n: number,
  deleteAnswer: (handle: string, attempt: number) => { Code: string; SenderFault: boolean } | 'throw' | undefined,
  sendRefused: (body: string) => boolean = () => false,
) {
  const dlq: Message[] = Array.from({ length: n }, (_, i) => ({
    MessageId: `m${i}`,
    ReceiptHandle: `r${i}`,
    Body: JSON.stringify({ taskToken: `t${i}` }),
  }));
  const attempts = new Map<string, number>();
  const deleted: string[] = [];
  let received = false;
  const sqs = {
    send: async (command: Command) => {
      const entries = (command.input.Entries ?? []) as Entry[];
      switch (command.constructor.name) {
        case 'GetQueueAttributesCommand':
          return { Attributes: { ApproximateNumberOfMessages: String(n) } };
        case 'ReceiveMessageCommand':
          if (received) return { Messages: [] };
          received = true;
          return { Messages: dlq };
        case 'SendMessageBatchCommand': {
          const refused = entries.filter((e) => sendRefused(e.MessageBody ?? ''));
          return {
            Successful: entries
              .filter((e) => !refused.includes(e))
              .map((e) => ({ Id: e.Id, MessageId: `new-${e.Id}` })),
            Failed: refused.map((e) => ({ Id: e.Id, Code: 'KmsThrottled', SenderFault: false })),
          };
        }
        case 'DeleteMessageBatchCommand': {
          const out = { Successful: [] as { Id: string }[], Failed: [] as { Id: string; Code: string }[] };
          for (const e of entries) {
            const handle = e.ReceiptHandle ?? '';
            const attempt = (attempts.get(handle) ?? 0) + 1;
            attempts.set(handle, attempt);
            const answer = deleteAnswer(handle, attempt);
            if (answer === 'throw') throw Object.assign(new Error('boom'), { name: 'InternalError', $fault: 'server' });
            if (answer === undefined) {
              deleted.push(handle);
              out.Successful.push({ Id: e.Id });
            } else out.Failed.push({ Id: e.Id, ...answer });
          }
          return out;
        }
        default:
          return {};
      }
    },
  } as unknown as SQSClient;
  return { sqs, attempts, deleted };
}

describe('redrive when SQS refuses a delete', () => {
  it('counts a message sent but not deleted as duplicated, not moved, and exits 254 with what to do', async () => {
    // r0: its handle expired (the visibility timeout ran out): never retried. r1: SQS's own fault
    // once, then deleted on the retry. r2: deleted at once.
    const fake = fakeSqs(3, (handle, attempt) => {
      if (handle === 'r0') return { Code: 'ReceiptHandleIsInvalid', SenderFault: true };
      if (handle === 'r1' && attempt === 1) return { Code: 'InternalError', SenderFault: false };
      return undefined;
    });
    const summary = await redrive(fake.sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', OPTIONS);
    expect(summary).toMatchObject({ moved: 2, failed: 0, duplicated: 1, duplicatedIds: ['m0'], stopped: [] });
    expect(fake.attempts.get('r0')).toBe(1);
    expect(fake.attempts.get('r1')).toBe(2);
    expect(describeSummary(summary, 1)).toMatch(
      // r0 is handed back (released) too; its expired handle makes SQS refuse that as well.
      /^moved 2, skipped 0 \(filtered\), failed 0, duplicated 1 \(sent, but still in the DLQ: m0\), in 1\.0 s\n1 held message\(s\) could not be handed back; they reappear within 60 s\n$/,
    );
    const ending = redriveEnding(summary);
    expect(exitCodeOf(ending)).toBe(EXIT.service);
    expect(ending?.message).toBe(
      '1 message(s) were sent to the source queue but SQS refused to delete them from the DLQ, so they are in both queues: delete the DLQ copies with sfn-relay dlq purge --message-id m0 --yes',
    );
  });

  it('retries a delete SQS failed on its side only while the receipt handle is valid, and a call that throws refuses every entry', async () => {
    let clock = 0;
    const always = fakeSqs(2, () => ({ Code: 'InternalError', SenderFault: false }));
    const messages: Message[] = [
      { MessageId: 'm0', ReceiptHandle: 'r0' },
      { MessageId: 'm1', ReceiptHandle: 'r1' },
    ];
    const r = await deleteMessages(always.sqs, 'q', messages, {
      validUntil: 600,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    // 250 ms, then 500 ms would pass the handle's validity (600 ms): two attempts, not four.
    expect(r.deleted).toEqual([]);
    expect(r.refused.map((x) => x.code)).toEqual(['ReceiptHandleExpiring', 'ReceiptHandleExpiring']);
    expect(always.attempts.get('r0')).toBe(2);

    const throwing = fakeSqs(2, () => 'throw');
    const summary = await redrive(throwing.sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', OPTIONS);
    expect(summary).toMatchObject({ moved: 0, duplicated: 2, duplicatedIds: ['m0', 'm1'] });
    expect(throwing.attempts.get('r0')).toBe(4);
  });

  it('counts a send the source queue refused per entry as failed, and never deletes it', async () => {
    const fake = fakeSqs(
      3,
      () => undefined,
      (body) => body.includes('t1'),
    );
    const summary = await redrive(fake.sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', OPTIONS);
    expect(summary).toMatchObject({ moved: 2, failed: 1, duplicated: 0 });
    expect(fake.deleted.sort()).toEqual(['r0', 'r2']);
    expect(exitCodeOf(redriveEnding(summary))).toBe(EXIT.service);
  });
});

describe('dlq list and inspect output', () => {
  const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAQ+secret/Token==moreTokenMaterial';
  const info = {
    reason: 'retries_exhausted',
    detail: 'test',
    sourceMessageId: 's1',
    receiveCount: 5,
    tokenHash: shortHash(tokenHash(TOKEN)),
    overflowAttributes: { 'x-callback-token': { DataType: 'String', StringValue: TOKEN } },
  };
  const message: Message = {
    MessageId: 'm1',
    Body: JSON.stringify({ taskToken: TOKEN }),
    MessageAttributes: {
      [DEAD_LETTER_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(info) },
      producer: { DataType: 'String', StringValue: TOKEN },
    },
  };

  it('masks token-shaped producer values everywhere, the relay record (overflowAttributes) included', () => {
    const row = shown(toRow(message, Date.now()), false);
    // What `dlq list --json` prints, and what `dlq inspect` prints.
    expect(JSON.stringify(row)).not.toContain('secret/Token');
    expect(formatDetailed([row])).not.toContain('secret/Token');
    expect(row.info?.overflowAttributes?.['x-callback-token']?.StringValue).toBe('<redacted>');
    expect(row.info?.sourceMessageId).toBe('s1');
    // --show-tokens stays the one way to see them.
    expect(JSON.stringify(shown(toRow(message, Date.now()), true))).toContain('secret/Token');
  });

  it('shows the token hash the logs show: 12 hex digits in the table and in inspect', () => {
    const row = toRow(message, Date.now());
    const hash = shortHash(tokenHash(TOKEN));
    expect(hash).toHaveLength(12);
    expect(formatTable([row])).toMatch(new RegExp(`^retries_exhausted\\s+5\\s+\\S+\\s+${hash}\\s`, 'm'));
    expect(formatTable([row])).toMatch(/^REASON\s+RECV\s+AGE\s+TOKEN {9}ERROR$/m);
    expect(formatDetailed([row])).toContain(`token: ${hash}`);
  });
});

describe('start-up', () => {
  it('refuses a FIFO DLQ behind a standard source: queue types must match', () => {
    const env = {
      SOURCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/failures',
      DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/failures-dlq.fifo',
    };
    expect(() => loadConfig(env)).toThrow(/DLQ_URL=.* is a FIFO queue behind a standard SOURCE_QUEUE_URL/);
    expect(() => loadConfig({ ...env, SOURCE_QUEUE_URL: `${env.SOURCE_QUEUE_URL}.fifo` })).not.toThrow();
    // The start-up check says the same from the queues' own attributes.
    const queue = (fifo: boolean): QueueFacts => ({
      fifo,
      maxMessageBytes: 262_144,
      retentionSeconds: 345_600,
      contentBasedDeduplication: false,
      redrive: undefined,
      arn: 'arn:aws:sqs:eu-west-1:123456789012:q',
    });
    const settings = { sourceQueueUrl: 's', dlqUrl: 'd', maxReceives: 5, fifoMaxHandBackSeconds: 10 };
    const dlqType = (source: boolean, dlq: boolean) =>
      compareQueues(queue(source), queue(dlq), settings).find((c) => c.name === 'dlq_type')?.level;
    expect([dlqType(false, true), dlqType(true, false), dlqType(true, true), dlqType(false, false)]).toEqual([
      'error',
      'error',
      'ok',
      'ok',
    ]);
  });
});

describe('redrive on a FIFO DLQ whose receive returns several messages of a group (as real SQS does, up to 10)', () => {
  it('moves the group up to the first message it does not move, and holds the rest, in order', async () => {
    const dead = (i: number, reason: string, group: string): Message => ({
      MessageId: `m${i}`,
      ReceiptHandle: `r${i}`,
      Body: reason === 'body_not_json' ? 'not json' : JSON.stringify({ taskToken: `t${i}` }),
      Attributes: { MessageGroupId: group },
      MessageAttributes: {
        [DEAD_LETTER_ATTRIBUTE]: {
          DataType: 'String',
          StringValue: JSON.stringify({ reason, sourceMessageId: `s${i}` }),
        },
      },
    });
    const receives = [
      [dead(0, 'retries_exhausted', 'g'), dead(1, 'body_not_json', 'g'), dead(2, 'retries_exhausted', 'g')],
      [dead(3, 'retries_exhausted', 'h')],
    ];
    const sent: string[] = [];
    const handedBack: string[] = [];
    const sqs = {
      send: async (command: Command) => {
        const entries = (command.input.Entries ?? []) as (Entry & { MessageGroupId?: string })[];
        switch (command.constructor.name) {
          case 'GetQueueAttributesCommand':
            return { Attributes: { ApproximateNumberOfMessages: '6' } };
          case 'ReceiveMessageCommand':
            return { Messages: receives.shift() ?? [] };
          case 'SendMessageBatchCommand':
            sent.push(...entries.map((e) => `${e.MessageGroupId}:${e.MessageBody}`));
            return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: `new-${e.Id}` })) };
          case 'ChangeMessageVisibilityBatchCommand':
            handedBack.push(...entries.map((e) => e.ReceiptHandle ?? ''));
            return { Successful: entries.map((e) => ({ Id: e.Id })) };
          default:
            return { Successful: entries.map((e) => ({ Id: e.Id })) };
        }
      },
    } as unknown as SQSClient;
    const summary = await redrive(sqs, 'https://sqs/1/dlq.fifo', 'https://sqs/1/src.fifo', OPTIONS);
    expect(sent).toEqual(['g:{"taskToken":"t0"}', 'h:{"taskToken":"t3"}']);
    expect(summary).toMatchObject({ moved: 2, hopeless: { body_not_json: 1 }, behind: 3 });
    expect(summary.stopped).toEqual([
      {
        group: 'g',
        messageId: 'm1',
        reason: 'body_not_json',
        why: 'the body itself is invalid; a redrive sends the same body',
        kind: 'hopeless',
        forceable: true,
      },
    ]);
    expect(handedBack).toEqual(['r1', 'r2']);
    expect(exitCodeOf(redriveEnding(summary))).toBe(EXIT.someInvalid);
  });
});
