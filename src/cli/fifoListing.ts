/**
 * What `dlq list` cannot show on a FIFO queue, said plainly: SQS hands out no message of a group
 * while an earlier one is in flight, so a listing (which deletes nothing) sees only the first
 * messages of each group. Per group, how many it saw; from ApproximateNumberOfMessages, roughly
 * how many are held behind them.
 */
import type { Message } from '@aws-sdk/client-sqs';

export interface GroupCount {
  group: string;
  seen: number;
}

export interface FifoListing {
  groups: GroupCount[];
  /** Messages in the queue when the listing started (visible and in flight), as SQS counts them. */
  approximateTotal: number | undefined;
  /** Roughly how many the listing could not show: held behind the groups' first messages. */
  heldBehind: number | undefined;
  /** --max ended the listing: the ones not shown may be other groups' first messages too. */
  cutAt: number | undefined;
}

/** `max`: the listing's --max; when it saw that many, what it did not show is not only held behind. */
export function fifoListing(seen: Message[], approximateTotal: number, max = Number.POSITIVE_INFINITY): FifoListing {
  const counts = new Map<string, number>();
  for (const m of seen) {
    const g = m.Attributes?.MessageGroupId ?? '-';
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  const known = Number.isFinite(approximateTotal);
  return {
    groups: [...counts].map(([group, n]) => ({ group, seen: n })),
    approximateTotal: known ? approximateTotal : undefined,
    heldBehind: known ? Math.max(0, approximateTotal - seen.length) : undefined,
    cutAt: seen.length >= max ? max : undefined,
  };
}

/** The lines printed after the table (or on stderr with --json). */
export function formatFifoListing(l: FifoListing): string {
  const behind = l.heldBehind === undefined ? 'an unknown number' : `about ${l.heldBehind}`;
  if (l.cutAt !== undefined) {
    return [
      `FIFO queue: --max ${l.cutAt} ended the listing; ${l.groups.map((g) => `group ${g.group}: ${g.seen} seen`).join(', ')}`,
      `${behind} more not shown: other groups' first messages, or messages held behind a group's first ones (SQS shows a group's later messages only once its earlier ones are deleted); raise --max to see more groups`,
      ...(l.approximateTotal === undefined
        ? []
        : [`(SQS counts about ${l.approximateTotal} in the queue, visible and in flight)`]),
    ]
      .map((x) => `${x}\n`)
      .join('');
  }
  const one = l.groups.length === 1 ? l.groups[0] : undefined;
  const lines = [
    "FIFO queue: SQS shows a group's later messages only once its earlier ones are deleted, so this lists the first messages of each group.",
    ...(one !== undefined
      ? [`group ${one.group}: ${one.seen} seen, ${behind} held behind them`]
      : [
          ...l.groups.map((g) => `group ${g.group}: ${g.seen} seen`),
          `${behind} more held behind the groups' first messages`,
        ]),
    ...(l.approximateTotal === undefined
      ? []
      : [`(SQS counts about ${l.approximateTotal} in the queue, visible and in flight)`]),
  ];
  return lines.map((x) => `${x}\n`).join('');
}
