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

import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { redriveHopeless } from '../core/outcome.js';
import { oneLine } from './common.js';
import { type DlqRow, type Filter, HIDE_SECONDS, handBack, matches, queueSize, receive, toRow } from './dlqRead.js';
import { moveMessages } from './redriveMove.js';

export { redriveEntry } from './redriveMove.js';

export interface RedriveOptions {
  max: number;
  filter: Filter;
  dryRun: boolean;
  /** Move messages whose reason can never succeed on a redrive too. */
  force: boolean;
  onProgress?: (moved: number) => void;
  /** Aborted (Ctrl-C): finish the batch in hand, hand back the rest, and report. */
  signal?: AbortSignal;
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
  /** What stopped it, which decides the choices offered. */
  kind: 'hopeless' | 'filtered' | 'refused' | 'unknown' | 'duplicated';
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
  /** Sends that got no answer (a timeout, a reset): still in the DLQ, and maybe in the source queue too. */
  unknown: number;
  /** The DLQ message ids of the unknown ones. */
  unknownIds: string[];
  /** Sent to the source queue, but SQS refused to delete them from the DLQ: now in both queues. */
  duplicated: number;
  /** The DLQ message ids of the duplicated ones. */
  duplicatedIds: string[];
  /** FIFO only: groups stopped at a message not moved, in the order met. */
  stopped: StoppedGroup[];
  /** FIFO only: messages of the snapshot never looked at (approximate; `ended` says why). */
  behind: number;
  /**
   * Why the redrive ended: `done` (no more messages handed out), `max` (--max reached), `interrupted`
   * (Ctrl-C), `error` (a receive failed; see `error`).
   */
  ended: 'done' | 'max' | 'interrupted' | 'error';
  /** The error that ended it, one line. */
  error?: string;
  /** Held messages SQS refused to make visible again: they reappear within HIDE_SECONDS anyway. */
  notHandedBack: number;
  /** Messages in the DLQ when the redrive started (visible and in flight; approximate, as SQS counts). */
  snapshot: number;
  dryRun: boolean;
}

/** Why a message is not moved (undefined: it is), counted in the summary. */
function verdict(row: DlqRow, o: RedriveOptions, summary: RedriveSummary): Omit<StoppedGroup, 'group'> | undefined {
  const base = { messageId: row.messageId, reason: row.reason };
  if (!matches(row, o.filter)) {
    summary.skipped += 1;
    return { ...base, why: 'not matched by the filters', kind: 'filtered', forceable: false };
  }
  const hopeless = redriveHopeless(row.reason);
  if (hopeless !== undefined && !o.force) {
    summary.hopeless[row.reason] = (summary.hopeless[row.reason] ?? 0) + 1;
    return { ...base, why: hopeless, kind: 'hopeless', forceable: true };
  }
  return undefined;
}

/** A receive failed mid-run: the summary so far, and the error (which sets the exit code). */
export class RedriveFailed extends Error {
  constructor(
    readonly summary: RedriveSummary,
    override readonly cause: unknown,
  ) {
    super(oneLine(cause));
    this.name = 'RedriveFailed';
  }
}

/**
 * The redrive loop. On a FIFO DLQ it works group by group in order: SQS hands out a group's next
 * messages only once the earlier ones are deleted, so a message it does not move stops its group
 * (recorded in `stopped`), and the later messages of that group are left in the DLQ, in order.
 * Ends by the snapshot's size, `max`, two empty receives, the abort signal, or a failed receive
 * (thrown as RedriveFailed, with the summary so far).
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
    unknown: 0,
    unknownIds: [],
    duplicated: 0,
    duplicatedIds: [],
    stopped: [],
    behind: 0,
    ended: 'done',
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
  // Chosen but not sent: handed back, and counted as not looked at (they wait behind their group).
  const notSent = (ms: Message[]) => {
    held.push(...ms);
    for (const m of ms) examined.delete(m.MessageId ?? '');
  };
  let failure: unknown;
  try {
    for (let empty = 0; empty < 2 && examined.size < summary.snapshot && summary.moved < o.max; ) {
      if (o.signal?.aborted === true) break;
      let got: Message[];
      try {
        got = await receive(sqs, dlqUrl);
      } catch (err) {
        failure = err;
        break;
      }
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
        const at = { dlqUrl, sourceUrl, validUntil, ordered: fifo, o };
        await moveMessages(sqs, at, chosen, { summary, sentAs, held, stop, notSent });
      }
      o.onProgress?.(summary.moved);
    }
  } finally {
    summary.notHandedBack = await handBack(sqs, dlqUrl, held);
  }
  summary.ended =
    failure !== undefined
      ? 'error'
      : o.signal?.aborted === true
        ? 'interrupted'
        : summary.moved >= o.max
          ? 'max'
          : 'done';
  // What SQS counted at the start and this redrive never looked at: behind a stopped group, held in
  // flight by another reader, or left by --max, Ctrl-C or an error (`ended` says which).
  if (fifo && Number.isFinite(summary.snapshot)) summary.behind = Math.max(0, summary.snapshot - examined.size);
  if (failure !== undefined) {
    summary.error = oneLine(failure);
    throw new RedriveFailed(summary, failure);
  }
  return summary;
}
