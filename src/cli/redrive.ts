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
 *   On a FIFO DLQ it works group by group, in order, and stops a group at a message it does not
 *   move. `moved` counts only what was sent and then deleted (see RedriveSummary).
 * - **Native** (`--native`): SQS's `StartMessageMoveTask`, in redriveNative.ts.
 */

import { createHash } from 'node:crypto';
import type { Message, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { redriveHopeless } from '../core/outcome.js';
import { originalAttributes } from '../pipeline/deadLetter.js';
import { deleteMessages, sendEntries } from './batch.js';
import { type DlqRow, type Filter, HIDE_SECONDS, handBack, matches, queueSize, receive, toRow } from './dlqRead.js';

export interface RedriveOptions {
  max: number;
  filter: Filter;
  dryRun: boolean;
  /** Move messages whose reason can never succeed on a redrive too. */
  force: boolean;
  onProgress?: (moved: number) => void;
  /** For tests: the clock and the pause between delete attempts. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A FIFO group the redrive stopped at a message it did not move: the rest of the group stays behind it. */
export interface StoppedGroup {
  group: string;
  messageId: string;
  /** The message's dead-letter reason. */
  reason: string;
  /** Why it was not moved: a reason that cannot succeed, the filters, SQS refusing it. */
  why: string;
  /** Whether `--force` would move it (the reason cannot succeed, nothing else). */
  forceable: boolean;
}

export interface RedriveSummary {
  /** Sent to the source queue and then deleted from the DLQ (or, in a dry run, would be). */
  moved: number;
  /** Left in the DLQ: they did not match the filters. */
  skipped: number;
  /** Left in the DLQ without --force, by reason: a redrive cannot succeed for them. */
  hopeless: Record<string, number>;
  /** Messages this redrive moved that came back to the DLQ while it ran; left there. */
  returned: number;
  /** The source queue refused them; they stay in the DLQ (and only there). */
  failed: number;
  /** Sent to the source queue, but SQS refused to delete them from the DLQ: now in both queues. */
  duplicated: number;
  /** The DLQ message ids of the duplicated ones. */
  duplicatedIds: string[];
  /** FIFO only: groups stopped at a message not moved, in the order met. */
  stopped: StoppedGroup[];
  /** FIFO only: messages of the snapshot never looked at, held behind stopped groups (approximate). */
  behind: number;
  /** Held messages SQS refused to make visible again: they reappear within HIDE_SECONDS anyway. */
  notHandedBack: number;
  /** Messages in the DLQ when the redrive started (visible and in flight; approximate, as SQS counts). */
  snapshot: number;
  dryRun: boolean;
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

/** Why a message is not moved (undefined: it is), counted in the summary. */
function verdict(row: DlqRow, o: RedriveOptions, summary: RedriveSummary): Omit<StoppedGroup, 'group'> | undefined {
  const base = { messageId: row.messageId, reason: row.reason };
  if (!matches(row, o.filter)) {
    summary.skipped += 1;
    return { ...base, why: 'not matched by the filters', forceable: false };
  }
  const hopeless = redriveHopeless(row.reason);
  if (hopeless !== undefined && !o.force) {
    summary.hopeless[row.reason] = (summary.hopeless[row.reason] ?? 0) + 1;
    return { ...base, why: hopeless, forceable: true };
  }
  return undefined;
}

/**
 * The redrive loop. On a FIFO DLQ it works group by group in order: SQS hands out a group's next
 * messages only once the earlier ones are deleted, so a message it does not move stops its group
 * (recorded in `stopped`), and the later messages of that group are left in the DLQ, in order.
 * Ends by the snapshot's size, `max`, or two empty receives.
 */
export async function redrive(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  o: RedriveOptions,
): Promise<RedriveSummary> {
  const now = o.now ?? Date.now;
  const summary: RedriveSummary = {
    moved: 0,
    skipped: 0,
    hopeless: {},
    returned: 0,
    failed: 0,
    duplicated: 0,
    duplicatedIds: [],
    stopped: [],
    behind: 0,
    notHandedBack: 0,
    snapshot: await queueSize(sqs, dlqUrl),
    dryRun: o.dryRun,
  };
  const fifo = isFifoQueueUrl(dlqUrl);
  const stopped = new Map<string, StoppedGroup>();
  const stop = (m: Message, why: Omit<StoppedGroup, 'group'>) => {
    const group = fifo ? m.Attributes?.MessageGroupId : undefined;
    if (group === undefined || stopped.has(group)) return;
    stopped.set(group, { group, ...why });
    summary.stopped.push({ group, ...why });
  };
  const held: Message[] = [];
  const examined = new Set<string>();
  /** Source-queue ids of the messages this redrive sent: how a returning message is recognised. */
  const sentAs = new Set<string>();
  try {
    for (let empty = 0; empty < 2 && examined.size < summary.snapshot && summary.moved < o.max; ) {
      const got = await receive(sqs, dlqUrl);
      const validUntil = now() + HIDE_SECONDS * 1000;
      if (got.length === 0) empty += 1;
      const chosen: Message[] = [];
      for (const m of got) {
        const id = m.MessageId ?? '';
        const row = toRow(m, now());
        // Behind a stopped head (FIFO): left in the DLQ, in order, not looked at.
        const behindStop = fifo && stopped.has(row.groupId ?? '');
        if (behindStop || examined.has(id) || sentAs.has(id) || sentAs.has(row.info?.sourceMessageId ?? '')) {
          if (!behindStop && !examined.has(id)) summary.returned += 1;
          held.push(m);
          continue;
        }
        examined.add(id);
        const why = verdict(row, o, summary);
        if (why === undefined && summary.moved + chosen.length < o.max) {
          chosen.push(m);
          continue;
        }
        if (why !== undefined) stop(m, why);
        held.push(m);
      }
      if (o.dryRun) {
        summary.moved += chosen.length;
        held.push(...chosen);
      } else if (chosen.length > 0) {
        await moveBatch(sqs, { dlqUrl, sourceUrl, validUntil, o }, chosen, { summary, sentAs, held, stop });
      }
      o.onProgress?.(summary.moved);
    }
  } finally {
    summary.notHandedBack = await handBack(sqs, dlqUrl, held);
  }
  // Only a stop (or a dry run, which deletes nothing) leaves messages unseen behind a group's head.
  if (fifo && (summary.stopped.length > 0 || o.dryRun) && Number.isFinite(summary.snapshot))
    summary.behind = Math.max(0, summary.snapshot - examined.size);
  return summary;
}

interface MoveState {
  summary: RedriveSummary;
  sentAs: Set<string>;
  held: Message[];
  stop: (m: Message, why: Omit<StoppedGroup, 'group'>) => void;
}

/**
 * Send first, delete second: a crash in between duplicates a message at worst, never loses one.
 * `moved` counts a message only once both were done; one sent but not deleted is `duplicated`.
 */
async function moveBatch(
  sqs: SQSClient,
  at: { dlqUrl: string; sourceUrl: string; validUntil: number; o: RedriveOptions },
  chosen: Message[],
  s: MoveState,
): Promise<void> {
  // DLQ messages may be up to 1 MiB each: sent in groups within SQS's batch payload limit, as the
  // relay sends them to the DLQ.
  const { sent, refused } = await sendEntries(
    sqs,
    at.sourceUrl,
    chosen.map((m, i) => redriveEntry(String(i), m, at.sourceUrl)),
  );
  for (const newId of sent.values()) s.sentAs.add(newId);
  for (const r of refused) {
    const m = chosen[Number(r.item)] as Message;
    s.held.push(m);
    s.stop(m, {
      messageId: m.MessageId ?? '',
      reason: toRow(m, Date.now()).reason,
      why: `the source queue refused it (${r.code})`,
      forceable: false,
    });
  }
  s.summary.failed += refused.length;
  const toDelete = chosen.filter((_, i) => sent.has(String(i)));
  if (toDelete.length === 0) return;
  const d = await deleteMessages(sqs, at.dlqUrl, toDelete, {
    validUntil: at.validUntil,
    ...(at.o.now === undefined ? {} : { now: at.o.now }),
    ...(at.o.sleep === undefined ? {} : { sleep: at.o.sleep }),
  });
  s.summary.moved += d.deleted.length;
  s.summary.duplicated += d.refused.length;
  for (const r of d.refused) {
    s.summary.duplicatedIds.push(r.item.MessageId ?? '');
    s.stop(r.item, {
      messageId: r.item.MessageId ?? '',
      reason: toRow(r.item, Date.now()).reason,
      why: `sent, but SQS refused to delete it from the DLQ (${r.code})`,
      forceable: false,
    });
  }
}
