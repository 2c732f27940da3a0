/**
 * Moving DLQ messages back to the source queue. Two paths:
 *
 * - **By the CLI** (default): it receives, filters and sends each message itself — body and the
 *   producer's attributes as they were sent (the relay's reason and trace context dropped, the
 *   attributes kept inside the JSON restored), the message group kept (FIFO and fair queues).
 *   It works on a snapshot: the messages in the DLQ when it starts (their count, and the ids it
 *   has seen). A message it moved that comes back while it runs (the relay dead-letters it again:
 *   recognised by the relay's record of the source message id, or by its id when SQS's own redrive
 *   moved it) is left where it is and reported, never moved twice. So it ends, with the relay
 *   running, and reports what it really moved. Reasons that can never succeed on a redrive are
 *   skipped unless --force.
 * - **Native** (`--native`): SQS's `StartMessageMoveTask`, server-side, for a whole queue. Fast
 *   and cheap for large backlogs, but all or nothing: no filters, messages that can never succeed
 *   go too, and every attribute is moved as it is (the relay's included, which the relay ignores).
 *   SQS only allows it when the DLQ is the source queue's redrive-policy target.
 */

import { createHash } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { chunkEntries, originalAttributes } from '../deadLetter.js';
import { redriveHopeless } from '../outcome.js';
import { isFifoQueueUrl } from '../queueUrl.js';
import { queueArn } from '../sqs.js';
import { type Filter, handBack, matches, receive, toRow } from './dlqRead.js';

export interface RedriveOptions {
  max: number;
  filter: Filter;
  dryRun: boolean;
  /** Move messages whose reason can never succeed on a redrive too. */
  force: boolean;
  onProgress?: (moved: number) => void;
}

export interface RedriveSummary {
  /** Sent to the source queue and deleted from the DLQ (or, in a dry run, would be). */
  moved: number;
  /** Left in the DLQ: they did not match the filters. */
  skipped: number;
  /** Left in the DLQ without --force, by reason: a redrive cannot succeed for them. */
  hopeless: Record<string, number>;
  /** Messages this redrive moved that came back to the DLQ while it ran; left there. */
  returned: number;
  /** The source queue refused them; they stay in the DLQ. */
  failed: number;
  /** Messages in the DLQ when the redrive started (visible and in flight; approximate, as SQS counts). */
  snapshot: number;
  dryRun: boolean;
}

async function queueSize(sqs: SQSClient, queueUrl: string): Promise<number> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const a = out.Attributes ?? {};
    const n = Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
  } catch {
    // Without the count, the redrive ends when the DLQ answers empty twice.
    return Number.POSITIVE_INFINITY;
  }
}

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

export async function redrive(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  o: RedriveOptions,
): Promise<RedriveSummary> {
  const summary: RedriveSummary = {
    moved: 0,
    skipped: 0,
    hopeless: {},
    returned: 0,
    failed: 0,
    snapshot: await queueSize(sqs, dlqUrl),
    dryRun: o.dryRun,
  };
  const held: Message[] = [];
  const examined = new Set<string>();
  /** Source-queue ids of the messages this redrive sent: how a returning message is recognised. */
  const sentAs = new Set<string>();
  try {
    for (let empty = 0; empty < 2 && examined.size < summary.snapshot && summary.moved < o.max; ) {
      const got = await receive(sqs, dlqUrl);
      if (got.length === 0) empty += 1;
      const now = Date.now();
      const chosen: Message[] = [];
      for (const m of got) {
        const id = m.MessageId ?? '';
        const row = toRow(m, now);
        if (examined.has(id) || sentAs.has(id) || sentAs.has(row.info?.sourceMessageId ?? '')) {
          if (!examined.has(id)) summary.returned += 1;
          held.push(m);
          continue;
        }
        examined.add(id);
        const hopeless = redriveHopeless(row.reason);
        if (!matches(row, o.filter)) summary.skipped += 1;
        else if (hopeless !== undefined && !o.force)
          summary.hopeless[row.reason] = (summary.hopeless[row.reason] ?? 0) + 1;
        else if (summary.moved + chosen.length < o.max) {
          chosen.push(m);
          continue;
        }
        held.push(m);
      }
      if (o.dryRun) {
        summary.moved += chosen.length;
        held.push(...chosen);
      } else if (chosen.length > 0) {
        await moveBatch(sqs, dlqUrl, sourceUrl, chosen, summary, sentAs, held);
      }
      o.onProgress?.(summary.moved);
    }
  } finally {
    await handBack(sqs, dlqUrl, held);
  }
  return summary;
}

/** Send first, delete second: a crash in between duplicates a message at worst, never loses one. */
async function moveBatch(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  chosen: Message[],
  summary: RedriveSummary,
  sentAs: Set<string>,
  held: Message[],
): Promise<void> {
  const ok = new Map<number, string>();
  // DLQ messages may be up to 1 MiB each: sent in groups within SQS's batch payload limit, as the
  // relay sends them to the DLQ.
  for (const group of chunkEntries(chosen.map((m, i) => redriveEntry(String(i), m, sourceUrl)))) {
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: sourceUrl, Entries: group }));
    for (const s of sent.Successful ?? []) ok.set(Number(s.Id), s.MessageId ?? '');
  }
  for (const newId of ok.values()) sentAs.add(newId);
  const toDelete = chosen.filter((_, i) => ok.has(i));
  held.push(...chosen.filter((_, i) => !ok.has(i)));
  summary.failed += chosen.length - toDelete.length;
  if (toDelete.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  summary.moved += toDelete.length;
}

export interface NativeSummary {
  status: string;
  moved: number;
  toMove: number | undefined;
  failureReason: string | undefined;
}

/** `StartMessageMoveTask` from the DLQ to the source queue, waited for to the end. */
export async function redriveNative(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  o: { ratePerSecond?: number; pollMs?: number; onProgress?: (moved: number, toMove: number | undefined) => void },
): Promise<NativeSummary> {
  const [sourceArn, destinationArn] = await Promise.all([queueArn(sqs, dlqUrl), queueArn(sqs, sourceUrl)]);
  await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: sourceArn,
      DestinationArn: destinationArn,
      ...(o.ratePerSecond === undefined ? {} : { MaxNumberOfMessagesPerSecond: o.ratePerSecond }),
    }),
  );
  for (;;) {
    const out = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = out.Results?.[0];
    const moved = Number(task?.ApproximateNumberOfMessagesMoved ?? 0);
    const toMove = task?.ApproximateNumberOfMessagesToMove;
    o.onProgress?.(moved, toMove === undefined ? undefined : Number(toMove));
    if (task !== undefined && task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') {
      return {
        status: task.Status ?? 'UNKNOWN',
        moved,
        toMove: toMove === undefined ? undefined : Number(toMove),
        failureReason: task.FailureReason,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, o.pollMs ?? 2000));
  }
}
