/**
 * `dlq redrive` keeps a FIFO group's order when SQS refuses or does not answer part of a send or a
 * delete, says what it could not reach, and reports what it did when interrupted or when a receive
 * fails mid-run (an SQS fake; the end-to-end cases are in test/e2e/dlqFifo.test.ts).
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf, InterruptedError } from '../../src/cli/common.js';
import { interruptSignal, onSigint } from '../../src/cli/interrupt.js';
import { RedriveFailed, redrive } from '../../src/cli/redrive.js';
import { describe as describeSummary, redriveEnding } from '../../src/cli/redriveReport.js';
import { DEAD_LETTER_ATTRIBUTE } from '../../src/pipeline/deadLetter.js';
import { REDRIVE_OPTIONS } from '../support/redrive.js';

type Command = { constructor: { name: string }; input: Record<string, unknown> };
type Entry = { Id: string; ReceiptHandle?: string; MessageBody?: string };
type Answer = {
  Successful?: { Id: string; MessageId?: string }[];
  Failed?: { Id: string; Code: string; SenderFault: boolean }[];
};

const OPTIONS = REDRIVE_OPTIONS;
const DLQ = 'https://sqs/1/dlq.fifo';
const SRC = 'https://sqs/1/src.fifo';

const dead = (id: string, group?: string): Message => ({
  MessageId: id,
  ReceiptHandle: `h-${id}`,
  Body: JSON.stringify({ taskToken: `token-${id}` }),
  ...(group === undefined ? {} : { Attributes: { MessageGroupId: group } }),
  MessageAttributes: {
    [DEAD_LETTER_ATTRIBUTE]: {
      DataType: 'String',
      StringValue: JSON.stringify({ reason: 'retries_exhausted', sourceMessageId: `s-${id}` }),
    },
  },
});
const idOf = (e: Entry) => (JSON.parse(e.MessageBody ?? '{}').taskToken as string).slice(6);
const ok = (entries: Entry[]): Answer => ({ Successful: entries.map((e) => ({ Id: e.Id, MessageId: `n-${e.Id}` })) });

/** An SQS fake: `receives` answered in turn; `send`/`del` decide per call; every call logged. */
function fake(o: {
  count: number;
  receives: (Message[] | Error)[];
  send?: (entries: Entry[]) => Answer;
  del?: (entries: Entry[]) => Answer;
}) {
  const log = { sent: [] as string[], deleted: [] as string[], handedBack: [] as string[], receives: 0 };
  const sqs = {
    send: async (command: Command) => {
      const entries = (command.input.Entries ?? []) as Entry[];
      switch (command.constructor.name) {
        case 'GetQueueAttributesCommand':
          return {
            Attributes: { ApproximateNumberOfMessages: String(o.count), ApproximateNumberOfMessagesNotVisible: '0' },
          };
        case 'ReceiveMessageCommand': {
          log.receives += 1;
          const next = o.receives.shift() ?? [];
          if (next instanceof Error) throw next;
          return { Messages: next };
        }
        case 'SendMessageBatchCommand': {
          const answer = (o.send ?? ok)(entries);
          const accepted = new Set((answer.Successful ?? []).map((s) => s.Id));
          log.sent.push(...entries.filter((e) => accepted.has(e.Id)).map(idOf));
          return answer;
        }
        case 'DeleteMessageBatchCommand': {
          const answer = (o.del ?? ok)(entries);
          const done = new Set((answer.Successful ?? []).map((s) => s.Id));
          log.deleted.push(...entries.filter((e) => done.has(e.Id)).map((e) => (e.ReceiptHandle ?? '').slice(2)));
          return answer;
        }
        case 'ChangeMessageVisibilityBatchCommand':
          log.handedBack.push(...entries.map((e) => (e.ReceiptHandle ?? '').slice(2)));
          return ok(entries);
        default:
          return {};
      }
    },
  } as unknown as SQSClient;
  return { sqs, log };
}

describe('a FIFO group whose send is refused or unanswered in part', () => {
  it('SQS refuses a1 of a1,a2,a3 received together: nothing of the group is sent ahead of it', async () => {
    const f = fake({
      count: 3,
      receives: [[dead('a1', 'g'), dead('a2', 'g'), dead('a3', 'g')]],
      send: (entries) => ({
        Successful: entries.filter((e) => idOf(e) !== 'a1').map((e) => ({ Id: e.Id, MessageId: `n-${e.Id}` })),
        Failed: entries
          .filter((e) => idOf(e) === 'a1')
          .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
      }),
    });
    const summary = await redrive(f.sqs, DLQ, SRC, OPTIONS);
    expect(f.log.sent).toEqual([]);
    expect(f.log.handedBack).toEqual(['a1', 'a2', 'a3']);
    expect(summary).toMatchObject({ moved: 0, failed: 1, unknown: 0, behind: 2 });
    expect(summary.stopped).toMatchObject([{ group: 'g', messageId: 'a1', kind: 'refused' }]);
    expect(exitCodeOf(redriveEnding(summary))).toBe(EXIT.service);
  });

  it('a send that times out is unknown (its own count, ids, exit 255), and nothing of its group follows it', async () => {
    let calls = 0;
    const f = fake({
      count: 5,
      receives: [[dead('b1', 'g'), dead('b2', 'g'), dead('b3', 'g'), dead('h1', 'h')]],
      send: (entries) => {
        calls += 1;
        if (entries.some((e) => idOf(e) === 'b1'))
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        return ok(entries);
      },
    });
    const summary = await redrive(f.sqs, DLQ, SRC, OPTIONS);
    expect(calls).toBe(1);
    expect(summary).toMatchObject({ moved: 0, failed: 0, unknown: 2, unknownIds: ['b1', 'h1'] });
    expect(f.log.sent).toEqual([]);
    expect(describeSummary(summary, 0)).toContain(
      'unknown 2 (sent, no answer: in the DLQ, maybe in the source queue too: b1 h1)',
    );
    const ending = redriveEnding(summary);
    expect(exitCodeOf(ending)).toBe(EXIT.other);
    expect(ending?.message).toContain('look for them in the source queue before redriving again');
  });
});

describe('a FIFO group whose delete is refused after its send', () => {
  it('is duplicated: released, its group stopped before the next is sent, and the advice is to purge, not to redrive', async () => {
    const f = fake({
      count: 2,
      receives: [[dead('a1', 'g'), dead('a2', 'g')]],
      del: (entries) => ({
        Successful: entries.filter((e) => e.ReceiptHandle !== 'h-a1').map((e) => ({ Id: e.Id })),
        Failed: entries
          .filter((e) => e.ReceiptHandle === 'h-a1')
          .map((e) => ({ Id: e.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true })),
      }),
    });
    const summary = await redrive(f.sqs, DLQ, SRC, OPTIONS);
    expect(f.log.sent).toEqual(['a1']);
    expect(f.log.handedBack).toEqual(['a1', 'a2']);
    expect(summary).toMatchObject({ moved: 0, duplicated: 1, duplicatedIds: ['a1'] });
    const text = describeSummary(summary, 0);
    expect(text).toContain('group g stopped at message a1');
    expect(text).toContain('delete the DLQ copy with sfn-relay dlq purge --message-id a1 --yes, then redrive again');
    expect(text).toContain('a redrive before the purge would send it twice');
    expect(text).not.toMatch(/Choices: redrive again/);
  });
});

describe('a FIFO group held in flight by another reader', () => {
  it('reports the messages it never saw and exits 1 with why, instead of success', async () => {
    // SQS counts 4 (g's 3, one of them in flight elsewhere, and h's 1); only h's is handed out.
    const f = fake({ count: 4, receives: [[dead('h0', 'h')]] });
    const summary = await redrive(f.sqs, DLQ, SRC, OPTIONS);
    expect(summary).toMatchObject({ moved: 1, behind: 3, ended: 'done', stopped: [] });
    const text = describeSummary(summary, 0);
    expect(text).toMatch(/^moved 1, .*not looked at 3 \(SQS did not hand them out\)/);
    expect(text).toContain('holds a message of their group in flight. Wait for its visibility timeout');
    expect(exitCodeOf(redriveEnding(summary))).toBe(EXIT.someInvalid);
  });
});

describe('interrupted, or a receive failing mid-run', () => {
  const ten = (from: number) => Array.from({ length: 10 }, (_, i) => dead(`m${from + i}`));

  it('Ctrl-C: the batch in hand is finished (sent ones deleted), nothing more received, the summary kept', async () => {
    const abort = new AbortController();
    const f = fake({
      count: 20,
      receives: [ten(0), ten(10)],
      send: (entries) => {
        abort.abort();
        return ok(entries);
      },
    });
    const summary = await redrive(f.sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', {
      ...OPTIONS,
      signal: abort.signal,
    });
    expect(f.log.receives).toBe(1);
    expect(f.log.deleted).toHaveLength(10);
    expect(summary).toMatchObject({ moved: 10, ended: 'interrupted' });
    expect(describeSummary(summary, 0)).toContain('interrupted: the batch in hand was finished');
  });

  it('a receive that throws after messages moved: the summary so far comes with the error', async () => {
    const reset = Object.assign(new Error('connect ECONNRESET'), { name: 'Error' });
    const f = fake({ count: 20, receives: [ten(0), reset] });
    const err = await redrive(f.sqs, 'https://sqs/1/dlq', 'https://sqs/1/src', OPTIONS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedriveFailed);
    const { summary, cause } = err as RedriveFailed;
    expect(summary).toMatchObject({ moved: 10, ended: 'error', error: 'connect ECONNRESET' });
    expect(exitCodeOf(cause)).toBe(EXIT.other);
  });

  it('the first SIGINT aborts a command that listens, the second exits 130; one that does not listen exits at once', () => {
    const exits: number[] = [];
    onSigint((code) => exits.push(code));
    expect(exits).toEqual([EXIT.interrupted]);
    const signal = interruptSignal();
    onSigint((code) => exits.push(code));
    expect(signal.aborted).toBe(true);
    expect(exits).toEqual([EXIT.interrupted]);
    onSigint((code) => exits.push(code));
    expect(exits).toEqual([EXIT.interrupted, EXIT.interrupted]);
    expect(exitCodeOf(new InterruptedError('interrupted'))).toBe(EXIT.interrupted);
  });
});
