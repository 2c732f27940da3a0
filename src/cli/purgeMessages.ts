/**
 * `dlq purge --message-id ID…`: deletes chosen DLQ messages, such as the message at the head of a
 * FIFO group that a redrive stopped at. It walks the queue as `dlq list` does, deletes the ones
 * named and hands the others back. On a FIFO queue only a group's first message can be reached.
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { deleteMessages } from './batch.js';
import { HIDE_SECONDS, handBack, receive } from './dlqRead.js';

export interface PurgeResult {
  deleted: string[];
  /** Named, but not met in the queue (gone already, or behind another message of its FIFO group). */
  notFound: string[];
  /** Met, but SQS refused the delete: id and code. */
  refused: { id: string; code: string }[];
}

/** Ends when every named message was met, or the queue answers empty twice. */
export async function purgeMessages(sqs: SQSClient, queueUrl: string, wanted: readonly string[]): Promise<PurgeResult> {
  const left = new Set(wanted);
  const result: PurgeResult = { deleted: [], notFound: [], refused: [] };
  const held: Message[] = [];
  const seen = new Set<string>();
  try {
    for (let empty = 0; empty < 2 && left.size > 0; ) {
      const got = await receive(sqs, queueUrl);
      const validUntil = Date.now() + HIDE_SECONDS * 1000;
      if (got.length === 0) empty += 1;
      const chosen: Message[] = [];
      for (const m of got) {
        const id = m.MessageId ?? '';
        if (left.has(id)) {
          left.delete(id);
          chosen.push(m);
        } else {
          // Seen twice: the walk has gone round the queue.
          if (seen.has(id)) empty = 2;
          seen.add(id);
          held.push(m);
        }
      }
      if (chosen.length === 0) continue;
      const d = await deleteMessages(sqs, queueUrl, chosen, { validUntil });
      result.deleted.push(...d.deleted.map((m) => m.MessageId ?? ''));
      result.refused.push(...d.refused.map((r) => ({ id: r.item.MessageId ?? '', code: r.code })));
    }
  } finally {
    await handBack(sqs, queueUrl, held);
  }
  result.notFound = [...left];
  return result;
}
