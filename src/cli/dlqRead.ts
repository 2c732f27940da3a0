/**
 * Reading the DLQ without consuming it, as rows an operator can filter, and printing them with the
 * task tokens masked (a token is a bearer credential: it is shown only with --show-tokens).
 */
import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseEvent } from '../core/event.js';
import { DEAD_LETTER_REASONS } from '../core/outcome.js';
import { shortHash } from '../core/secret.js';
import { type DeadLetterInfo, readDeadLetterInfo } from '../pipeline/deadLetter.js';
import { handBackMessages } from './batch.js';
import { parseDuration, UsageError } from './common.js';

/** The reason shown for a DLQ message without the relay's attribute (SQS's own redrive moved it). */
export const NO_REASON = 'none';

export interface DlqRow {
  messageId: string;
  reason: string;
  receiveCount: number | undefined;
  ageSeconds: number | undefined;
  tokenHash: string | undefined;
  error: string | undefined;
  /** The message group (FIFO and fair queues). */
  groupId: string | undefined;
  info: DeadLetterInfo | undefined;
  body: string;
  attributes: Record<string, { DataType: string; Value: string }>;
}

/** How long DLQ messages stay hidden while a command reads them; handed back at the end. */
export const HIDE_SECONDS = 60;

export function toRow(m: Message, now: number): DlqRow {
  const info = readDeadLetterInfo(m);
  const parsed = parseEvent(m.Body ?? '');
  const since =
    info?.firstReceivedAt === undefined ? Number(m.Attributes?.SentTimestamp) : Date.parse(info.firstReceivedAt);
  // Own properties (Object.fromEntries, not `attributes[name] =`): an attribute a producer named
  // `__proto__` is an entry like any other, not a change of the object's prototype.
  const attributes: DlqRow['attributes'] = Object.fromEntries(
    Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [
      name,
      {
        DataType: v.DataType ?? 'String',
        Value: v.StringValue ?? (v.BinaryValue === undefined ? '' : `(${v.BinaryValue.length} bytes)`),
      },
    ]),
  );
  return {
    messageId: m.MessageId ?? '',
    reason: info?.reason ?? NO_REASON,
    receiveCount: info?.receiveCount,
    ageSeconds: Number.isFinite(since) ? Math.max(0, Math.round((now - since) / 1000)) : undefined,
    tokenHash: info?.tokenHash,
    error: parsed.ok && parsed.event.kind === 'failure' ? parsed.event.error : undefined,
    groupId: m.Attributes?.MessageGroupId,
    info,
    body: m.Body ?? '',
    attributes,
  };
}

export { maskTokens, shown } from './dlqMask.js';

export interface Filter {
  reason: string | undefined;
  olderThanMs: number | undefined;
  newerThanMs: number | undefined;
}

export function filterOf(o: { reason?: string; olderThan?: string; newerThan?: string }): Filter {
  if (
    o.reason !== undefined &&
    o.reason !== NO_REASON &&
    !(DEAD_LETTER_REASONS as readonly string[]).includes(o.reason)
  ) {
    throw new UsageError(
      `--reason "${o.reason}" is not a reason the relay gives; one of: ${[...DEAD_LETTER_REASONS, NO_REASON].join(', ')}`,
    );
  }
  return {
    reason: o.reason,
    olderThanMs: o.olderThan === undefined ? undefined : parseDuration(o.olderThan, '--older-than'),
    newerThanMs: o.newerThan === undefined ? undefined : parseDuration(o.newerThan, '--newer-than'),
  };
}

export function matches(row: DlqRow, f: Filter): boolean {
  if (f.reason !== undefined && row.reason !== f.reason) return false;
  const ageMs = (row.ageSeconds ?? 0) * 1000;
  if (f.olderThanMs !== undefined && ageMs < f.olderThanMs) return false;
  if (f.newerThanMs !== undefined && ageMs > f.newerThanMs) return false;
  return true;
}

export async function receive(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: HIDE_SECONDS,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

/** Makes held messages visible again; answers how many SQS refused (see handBackMessages). */
export const handBack = handBackMessages;

/**
 * Messages in the queue (visible and in flight; approximate, as SQS counts them), or Infinity when
 * SQS does not say.
 */
export async function queueSize(sqs: SQSClient, queueUrl: string): Promise<number> {
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
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Reads DLQ messages without consuming them: each is hidden while the whole queue is read (so none
 * is seen twice), then handed back with visibility 0. On a FIFO queue this sees only the first
 * messages of each group: SQS hands out none behind a message in flight.
 */
export async function peekDlq(
  sqs: SQSClient,
  queueUrl: string,
  max: number,
): Promise<{ messages: Message[]; notHandedBack: number }> {
  const seen = new Map<string, Message>();
  const held: Message[] = [];
  let notHandedBack = 0;
  try {
    for (let empty = 0; empty < 2 && seen.size < max; ) {
      const got = await receive(sqs, queueUrl);
      if (got.length === 0) empty += 1;
      for (const m of got) {
        held.push(m);
        if (!seen.has(m.MessageId ?? '') && seen.size < max) seen.set(m.MessageId ?? '', m);
      }
    }
  } finally {
    notHandedBack = await handBack(sqs, queueUrl, held);
  }
  return { messages: [...seen.values()], notHandedBack };
}

function age(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function short(text: string | undefined, n: number): string {
  if (text === undefined) return '-';
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

export function formatTable(rows: DlqRow[]): string {
  const withGroups = rows.some((r) => r.groupId !== undefined);
  const header = [
    'REASON'.padEnd(28),
    'RECV',
    'AGE'.padStart(5),
    'TOKEN'.padEnd(12),
    ...(withGroups ? ['GROUP'.padEnd(16)] : []),
    'ERROR',
  ].join('  ');
  const lines = rows.map((r) =>
    [
      short(r.reason, 28).padEnd(28),
      String(r.receiveCount ?? '-').padStart(4),
      age(r.ageSeconds).padStart(5),
      (r.tokenHash === undefined ? '-' : shortHash(r.tokenHash)).padEnd(12),
      ...(withGroups ? [short(r.groupId, 16).padEnd(16)] : []),
      short(r.error, 40),
    ].join('  '),
  );
  return `${[header, ...lines].join('\n')}\n${rows.length} message(s)\n`;
}

/** Where the message came from, as the relay recorded it (envelopes, topic, source, sender), or ''. */
function fromLine(info: DeadLetterInfo | undefined): string {
  const o = info?.origin;
  const parts = [
    ...(o === undefined ? [] : [o.envelope]),
    ...(o?.snsTopicArn === undefined ? [] : [`topic ${o.snsTopicArn}`]),
    ...(o?.eventBridgeSource === undefined
      ? []
      : [`eventbridge ${o.eventBridgeSource} (${o.eventBridgeAccount ?? '-'})`]),
    ...(o?.cloudEventSource === undefined
      ? []
      : [`cloudevent ${o.cloudEventSource} ${o.cloudEventType ?? '-'} ${o.cloudEventId ?? '-'}`]),
    ...(info?.sender === undefined ? [] : [`sender ${info.sender}`]),
  ];
  return parts.length === 0 ? '' : `  from:     ${parts.join('  ')}\n`;
}

export function formatDetailed(rows: DlqRow[]): string {
  const blocks = rows.map((r) => {
    const attributes = Object.entries(r.attributes)
      .map(([name, a]) => `\n              ${name} (${a.DataType}): ${short(a.Value, 200)}`)
      .join('');
    return (
      `message ${r.messageId}\n  reason:   ${r.reason}\n  detail:   ${r.info?.detail ?? '-'}\n` +
      `  receives: ${r.receiveCount ?? '-'}  age: ${age(r.ageSeconds)}  token: ${r.tokenHash === undefined ? '-' : shortHash(r.tokenHash)}` +
      `${r.groupId === undefined ? '' : `  group: ${r.groupId}`}\n` +
      `  source:   ${r.info?.sourceMessageId ?? '-'}  dead-lettered: ${r.info?.deadLetteredAt ?? '-'}\n` +
      fromLine(r.info) +
      `  attributes:${attributes === '' ? ' -' : attributes}\n` +
      `  body:     ${short(r.body, 2000)}\n`
    );
  });
  return `${blocks.join('\n')}\n${rows.length} message(s)\n`;
}
