/**
 * Moving the messages a redrive chose: send first, delete second (a crash in between duplicates a
 * message at worst, never loses one). `moved` counts a message only once both were done.
 *
 * In order (a FIFO DLQ): each round sends at most one message per group — the group's next — and
 * deletes it before the group's next is sent. So SQS refusing one message, not answering for it
 * (`unknown`: it may have arrived), or refusing its delete (`duplicated`) stops its group before
 * anything behind it is sent; the rest of the group is handed back, in order. Without order, one
 * round carries them all. Ends by the number of messages chosen (each is in exactly one round).
 */
import { createHash } from 'node:crypto';
import type { Message, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { originalAttributes } from '../pipeline/deadLetter.js';
import { deleteMessages, sendEntries } from './batch.js';
import { toRow } from './dlqRead.js';
import type { RedriveOptions, RedriveSummary, StoppedGroup } from './redrive.js';

/** The entry that puts a DLQ message back as the producer sent it (group and deduplication kept). */
export function redriveEntry(id: string, m: Message, sourceUrl: string): SendMessageBatchRequestEntry {
  const attributes = originalAttributes(m);
  const group = m.Attributes?.MessageGroupId;
  const fifo = isFifoQueueUrl(sourceUrl);
  return {
    Id: id,
    MessageBody: m.Body ?? '',
    ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    // A FIFO queue needs a group: the message's own, else one for redriven messages.
    ...(group !== undefined ? { MessageGroupId: group } : fifo ? { MessageGroupId: 'sfn-relay-redrive' } : {}),
    // A deduplication id of this DLQ message: a redrive retried within 5 minutes is not doubled.
    ...(fifo
      ? {
          MessageDeduplicationId: createHash('sha256')
            .update(`redrive:${m.MessageId ?? ''}`)
            .digest('hex'),
        }
      : {}),
  };
}

export interface MoveState {
  summary: RedriveSummary;
  /** Source-queue ids of the messages this redrive sent: how a returning message is recognised. */
  sentAs: Set<string>;
  /** Received and not deleted: handed back at the end. */
  held: Message[];
  stop: (m: Message, why: Omit<StoppedGroup, 'group'>) => void;
  /** Chosen but not sent (behind a stopped message of their group, or interrupted): handed back. */
  notSent: (messages: Message[]) => void;
}

export interface MoveTarget {
  dlqUrl: string;
  sourceUrl: string;
  /** When the receipt handles stop being valid. */
  validUntil: number;
  /** A FIFO DLQ: keep each group's order. */
  ordered: boolean;
  o: RedriveOptions;
}

export async function moveMessages(sqs: SQSClient, at: MoveTarget, chosen: Message[], s: MoveState): Promise<void> {
  const queues = new Map<string, Message[]>();
  chosen.forEach((m, i) => {
    const key = at.ordered ? `g:${m.Attributes?.MessageGroupId ?? ''}` : `m:${i}`;
    const q = queues.get(key);
    if (q === undefined) queues.set(key, [m]);
    else q.push(m);
  });
  while (queues.size > 0) {
    if (at.o.signal?.aborted === true) {
      for (const rest of queues.values()) s.notSent(rest);
      return;
    }
    const round = [...queues].map(([key, q]) => ({ key, m: q.shift() as Message }));
    for (const [key, q] of [...queues]) if (q.length === 0) queues.delete(key);
    const stopped = await moveRound(
      sqs,
      at,
      round.map((r) => r.m),
      s,
    );
    for (const r of round) {
      const rest = queues.get(r.key);
      if (stopped.has(r.m) && rest !== undefined) {
        s.notSent(rest);
        queues.delete(r.key);
      }
    }
  }
}

function stopAt(s: MoveState, m: Message, kind: StoppedGroup['kind'], why: string): void {
  s.stop(m, { messageId: m.MessageId ?? '', reason: toRow(m, Date.now()).reason, why, kind, forceable: false });
}

/** One send and one delete; answers the messages that stop their group. */
async function moveRound(sqs: SQSClient, at: MoveTarget, msgs: Message[], s: MoveState): Promise<Set<Message>> {
  const stopped = new Set<Message>();
  const { sent, refused, unknown } = await sendEntries(
    sqs,
    at.sourceUrl,
    msgs.map((m, i) => redriveEntry(String(i), m, at.sourceUrl)),
  );
  for (const newId of sent.values()) s.sentAs.add(newId);
  for (const r of refused) {
    const m = msgs[Number(r.item)] as Message;
    s.held.push(m);
    stopped.add(m);
    s.summary.failed += 1;
    stopAt(s, m, 'refused', `the source queue refused it (${r.code})`);
  }
  for (const r of unknown) {
    const m = msgs[Number(r.item)] as Message;
    s.held.push(m);
    stopped.add(m);
    s.summary.unknown += 1;
    s.summary.unknownIds.push(m.MessageId ?? '');
    stopAt(s, m, 'unknown', `the send got no answer (${r.code}): it may be in the source queue too`);
  }
  const toDelete = msgs.filter((_, i) => sent.has(String(i)));
  if (toDelete.length === 0) return stopped;
  const d = await deleteMessages(sqs, at.dlqUrl, toDelete, {
    validUntil: at.validUntil,
    ...(at.o.now === undefined ? {} : { now: at.o.now }),
    ...(at.o.sleep === undefined ? {} : { sleep: at.o.sleep }),
  });
  s.summary.moved += d.deleted.length;
  for (const r of d.refused) {
    // Released (handed back) so that `dlq purge --message-id` finds it at once; the group line
    // says to purge it before any redrive, which would send it a second time.
    s.held.push(r.item);
    stopped.add(r.item);
    s.summary.duplicated += 1;
    s.summary.duplicatedIds.push(r.item.MessageId ?? '');
    stopAt(s, r.item, 'duplicated', `sent, but SQS refused to delete it from the DLQ (${r.code})`);
  }
  return stopped;
}
