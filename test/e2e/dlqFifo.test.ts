/**
 * `sfn-relay dlq list` and `dlq redrive` on FIFO dead-letter queues (fauxqs): SQS hands out no
 * message of a group while an earlier one is in flight, so both must say what they could not reach.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterReason } from '../../src/core/outcome.js';
import { deadLetterEntry } from '../../src/pipeline/deadLetter.js';
import { runCli } from '../support/cli.js';
import { queueCounts, type SqsEmulator, startSqs } from '../support/emulators.js';

let sqs: SqsEmulator;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(async () => {
  await sqs?.stop();
});

interface Dead {
  group: string;
  reason: DeadLetterReason;
  body: string;
}

/** FIFO source and DLQ; the DLQ filled in order, as the relay dead-letters (group kept, dedup id). */
async function fifoDlq(messages: Dead[]): Promise<{ env: Record<string, string>; dlqName: string; ids: string[] }> {
  const name = `dlqfifo-${randomUUID().slice(0, 8)}`;
  const source = await sqs.createQueue(`${name}.fifo`, { FifoQueue: 'true' });
  const dlq = await sqs.createQueue(`${name}-dlq.fifo`, { FifoQueue: 'true' });
  const now = new Date().toISOString();
  const ids: string[] = [];
  for (let i = 0; i < messages.length; i += 10) {
    const entries = messages.slice(i, i + 10).map((m, j) => {
      const { entry } = deadLetterEntry(
        String(j),
        { MessageId: `src-${i + j}`, Body: m.body, Attributes: { MessageGroupId: m.group } },
        {
          reason: m.reason,
          detail: 'test',
          sourceMessageId: `src-${i + j}`,
          receiveCount: 1,
          firstReceivedAt: now,
          deadLetteredAt: now,
        },
      );
      return { ...entry, MessageGroupId: m.group, MessageDeduplicationId: `d${i + j}` };
    });
    const out = await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: dlq, Entries: entries }));
    if ((out.Failed ?? []).length > 0) throw new Error(JSON.stringify(out.Failed));
    const byId = new Map((out.Successful ?? []).map((s) => [s.Id, s.MessageId ?? '']));
    ids.push(...entries.map((e) => byId.get(e.Id) ?? ''));
  }
  return { env: { SOURCE_QUEUE_URL: source, DLQ_URL: dlq }, dlqName: `${name}-dlq.fifo`, ids };
}

const ok = (group: string, n: number): Dead => ({
  group,
  reason: 'retries_exhausted',
  body: JSON.stringify({ taskToken: `token-${group}-${n}`, error: `${group}${n}` }),
});
const hopeless = (group: string, n: number): Dead => ({
  group,
  reason: 'body_not_json',
  body: `not json ${group}${n}`,
});

/** Takes every message off a FIFO queue, in order: deleting as it goes, or a group's later messages stay hidden. */
async function takeAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const got = out.Messages ?? [];
    if (got.length === 0) empty += 1;
    for (const m of got) {
      all.push(m);
      await sqs.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  return all;
}

const cli = (args: string[], env: Record<string, string>) => runCli(sqs.endpoint, args, env);

describe('a FIFO DLQ of one group headed by a message that cannot succeed', () => {
  it('list says what it cannot show; redrive stops the group with the reason and the choices, exit 1', async () => {
    // The reproduction: 15 messages in one group, body_not_json at the head, 14 retries_exhausted.
    const q = await fifoDlq([hopeless('orders', 0), ...Array.from({ length: 14 }, (_, i) => ok('orders', i + 1))]);
    const head = q.ids[0] ?? '';

    const listed = await cli(['dlq', 'list'], q.env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('1 message(s)\n');
    expect(listed.stdout).toContain(
      "FIFO queue: SQS shows a group's later messages only once its earlier ones are deleted, so this lists the first messages of each group.\n" +
        'group orders: 1 seen, about 14 held behind them\n',
    );
    const json = await cli(['dlq', 'list', '--json'], q.env);
    expect(JSON.parse(json.stdout)).toHaveLength(1);
    expect(json.stderr).toContain('group orders: 1 seen, about 14 held behind them');

    const redriven = await cli(['dlq', 'redrive', '--json'], q.env);
    expect(redriven.code, redriven.stderr).toBe(1);
    const { seconds, ...summary } = JSON.parse(redriven.stdout) as Record<string, unknown>;
    expect(typeof seconds).toBe('number');
    expect(summary).toEqual({
      moved: 0,
      skipped: 0,
      hopeless: { body_not_json: 1 },
      returned: 0,
      failed: 0,
      unknown: 0,
      unknownIds: [],
      duplicated: 0,
      duplicatedIds: [],
      stopped: [
        {
          group: 'orders',
          messageId: head,
          reason: 'body_not_json',
          why: 'the body itself is invalid; a redrive sends the same body',
          kind: 'hopeless',
          forceable: true,
        },
      ],
      behind: 14,
      ended: 'done',
      notHandedBack: 0,
      snapshot: 15,
      dryRun: false,
    });
    expect(redriven.stderr).toBe(
      'sfn-relay: 1 FIFO group(s) stopped at a message not moved, with their later messages left in the DLQ: see the group line(s) above for the choices\n',
    );
    const text = await cli(['dlq', 'redrive'], q.env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /^moved 0, skipped 0 \(filtered\), left 1 that cannot succeed \(body_not_json 1: .*\), failed 0, not looked at 14 \(held behind FIFO groups\), in \d+\.\d s\n/,
    );
    expect(text.stdout).toContain(
      `group orders stopped at message ${head} (body_not_json: the body itself is invalid; a redrive sends the same body); about 14 message(s) behind it were left in the DLQ, in order. Choices: move it anyway with --force, or delete it with sfn-relay dlq purge --message-id ${head} --yes, then redrive again\n`,
    );
    expect(queueCounts(sqs.server, q.dlqName)).toMatchObject({ ready: 15, inflight: 0 });

    // The second choice: purge that message, then the group moves, in order, exit 0.
    const purged = await cli(['dlq', 'purge', '--message-id', head, '--yes'], q.env);
    expect(purged).toMatchObject({ code: 0, stdout: 'deleted 1, not found 0, refused 0\n' });
    const after = await cli(['dlq', 'redrive'], q.env);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/^moved 14, skipped 0 \(filtered\), failed 0, in /);
    const moved = await takeAll(q.env.SOURCE_QUEUE_URL ?? '');
    expect(moved.map((m) => JSON.parse(m.Body ?? '{}').error)).toEqual(
      Array.from({ length: 14 }, (_, i) => `orders${i + 1}`),
    );
    expect(queueCounts(sqs.server, q.dlqName).total).toBe(0);
  });
});

describe('a FIFO DLQ of many groups', () => {
  it('redrive moves group by group in order, stops only the groups it must, and says so', async () => {
    const q = await fifoDlq([
      ok('a', 0),
      hopeless('b', 0),
      ok('c', 0),
      ok('a', 1),
      ok('b', 1),
      hopeless('c', 1),
      ok('a', 2),
      ok('b', 2),
      ok('c', 2),
    ]);
    const listed = await cli(['dlq', 'list'], q.env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(
      "group a: 1 seen\ngroup b: 1 seen\ngroup c: 1 seen\nabout 6 more held behind the groups' first messages\n",
    );

    // A dry run deletes nothing, so it sees only the groups' first messages, and says so.
    const dry = await cli(['dlq', 'redrive', '--dry-run'], q.env);
    expect(dry.code, dry.stderr).toBe(1);
    expect(dry.stdout).toMatch(
      /^would move 2, skipped 0 \(filtered\), left 1 that cannot succeed .*, failed 0, not looked at 6 /,
    );
    expect(dry.stdout).toContain(`group b stopped at message ${q.ids[1]} (body_not_json: `);
    expect(dry.stdout).toContain(
      "a dry run moves nothing, and SQS shows a FIFO group's later messages only once the earlier ones are deleted: about 6 message(s) were not looked at\n",
    );
    expect(queueCounts(sqs.server, q.dlqName)).toMatchObject({ ready: 9, inflight: 0 });

    const r = await cli(['dlq', 'redrive', '--json'], q.env);
    expect(r.code, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout) as { stopped: { group: string; messageId: string }[] } & Record<
      string,
      unknown
    >;
    expect(summary).toMatchObject({ moved: 4, hopeless: { body_not_json: 2 }, failed: 0, duplicated: 0, behind: 3 });
    expect(summary.stopped.map((g) => [g.group, g.messageId])).toEqual([
      ['b', q.ids[1]],
      ['c', q.ids[5]],
    ]);
    const moved = await takeAll(q.env.SOURCE_QUEUE_URL ?? '');
    const errors = (g: string) =>
      moved.filter((m) => m.Attributes?.MessageGroupId === g).map((m) => JSON.parse(m.Body ?? '{}').error);
    expect(errors('a')).toEqual(['a0', 'a1', 'a2']);
    expect(errors('b')).toEqual([]);
    expect(errors('c')).toEqual(['c0']);

    // --force moves the rest, heads included, in order.
    const forced = await cli(['dlq', 'redrive', '--force'], q.env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^moved 5, skipped 0 \(filtered\), failed 0, in /);
    expect(queueCounts(sqs.server, q.dlqName).total).toBe(0);
  });
});

describe('a FIFO DLQ whose group head another reader holds in flight', () => {
  it('redrive moves what it can reach, reports the rest as not looked at, and exits 1 saying why', async () => {
    const q = await fifoDlq([ok('g', 0), ok('g', 1), ok('g', 2), ok('h', 0)]);
    // Another reader (a `dlq list` elsewhere, an interrupted redrive) holds g's head.
    const other = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: q.env.DLQ_URL, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }),
    );
    expect(other.Messages).toHaveLength(1);
    const r = await cli(['dlq', 'redrive'], q.env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /^moved 1, skipped 0 \(filtered\), failed 0, not looked at 3 \(SQS did not hand them out\), in /,
    );
    expect(r.stdout).toContain('holds a message of their group in flight. Wait for its visibility timeout');
    expect(r.stderr).toContain('about 3 message(s) of the DLQ were not looked at: held in flight elsewhere');
    expect(queueCounts(sqs.server, q.dlqName)).toMatchObject({ ready: 2, inflight: 1 });
  });
});
