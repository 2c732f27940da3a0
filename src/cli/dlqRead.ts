/**
 * Reading the DLQ without consuming it, as rows an operator can filter, and printing them with the
 * task tokens masked (a token is a bearer credential: it is shown only with --show-tokens).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEAD_LETTER_ATTRIBUTE, type DeadLetterInfo, readDeadLetterInfo } from '../deadLetter.js';
import { parseEvent } from '../event.js';
import { DEAD_LETTER_REASONS } from '../outcome.js';
import { scrub, shortHash, tokenHash } from '../secret.js';
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

/**
 * The body with every task token in it replaced by `<token 5f0c1e2a9b3d>` (the short hash the
 * relay logs): the token the relay would have parsed, any `taskToken` value in a body it could
 * not parse, and, as a second line of defence, any long opaque run that looks like one.
 */
export function maskTokens(body: string): string {
  let out = body;
  const parsed = parseEvent(body);
  const tokens = new Set<string>();
  if (parsed.ok) tokens.add(parsed.event.taskToken);
  for (const m of body.matchAll(/\\*"taskToken\\*"\s*:\s*\\*"((?:[^"\\]|\\[^"])*)\\*"/g)) {
    if (m[1] !== undefined && m[1] !== '') tokens.add(m[1]);
  }
  for (const t of [...tokens].sort((a, b) => b.length - a.length)) {
    out = out.split(t).join(`<token ${shortHash(tokenHash(t))}>`);
  }
  return scrub(out, undefined, Number.POSITIVE_INFINITY);
}

export function toRow(m: Message, now: number): DlqRow {
  const info = readDeadLetterInfo(m);
  const parsed = parseEvent(m.Body ?? '');
  const since =
    info?.firstReceivedAt === undefined ? Number(m.Attributes?.SentTimestamp) : Date.parse(info.firstReceivedAt);
  const attributes: DlqRow['attributes'] = {};
  for (const [name, v] of Object.entries(m.MessageAttributes ?? {})) {
    const value = v.StringValue ?? (v.BinaryValue === undefined ? '' : `(${v.BinaryValue.length} bytes)`);
    attributes[name] = { DataType: v.DataType ?? 'String', Value: value };
  }
  return {
    messageId: m.MessageId ?? '',
    reason: info?.reason ?? NO_REASON,
    receiveCount: info?.receiveCount,
    ageSeconds: Number.isFinite(since) ? Math.max(0, Math.round((now - since) / 1000)) : undefined,
    tokenHash: info?.tokenHash,
    error: parsed.ok ? parsed.event.error : undefined,
    groupId: m.Attributes?.MessageGroupId,
    info,
    body: m.Body ?? '',
    attributes,
  };
}

/** The row as printed: tokens masked (in the body and the producer's attributes) unless asked for. */
export function shown(row: DlqRow, showTokens: boolean): DlqRow {
  if (showTokens) return row;
  const attributes: DlqRow['attributes'] = {};
  for (const [name, a] of Object.entries(row.attributes)) {
    attributes[name] = name === DEAD_LETTER_ATTRIBUTE ? a : { ...a, Value: maskTokens(a.Value) };
  }
  return { ...row, body: maskTokens(row.body), attributes };
}

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

/**
 * Makes held messages visible again. Best effort: a handle that went stale (the message was held
 * longer than HIDE_SECONDS and received again) is refused, and the message is visible anyway.
 */
export async function handBack(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const group = messages.slice(i, i + 10);
    await sqs
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
        }),
      )
      .catch(() => undefined);
  }
}

/**
 * Reads DLQ messages without consuming them: each is hidden while the whole queue is read (so none
 * is seen twice), then handed back with visibility 0.
 */
export async function peekDlq(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const seen = new Map<string, Message>();
  const held: Message[] = [];
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
    await handBack(sqs, queueUrl, held);
  }
  return [...seen.values()];
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
    'TOKEN   ',
    ...(withGroups ? ['GROUP'.padEnd(16)] : []),
    'ERROR',
  ].join('  ');
  const lines = rows.map((r) =>
    [
      short(r.reason, 28).padEnd(28),
      String(r.receiveCount ?? '-').padStart(4),
      age(r.ageSeconds).padStart(5),
      (r.tokenHash?.slice(0, 8) ?? '-').padEnd(8),
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
      `  receives: ${r.receiveCount ?? '-'}  age: ${age(r.ageSeconds)}  token: ${r.tokenHash ?? '-'}` +
      `${r.groupId === undefined ? '' : `  group: ${r.groupId}`}\n` +
      `  source:   ${r.info?.sourceMessageId ?? '-'}  dead-lettered: ${r.info?.deadLetteredAt ?? '-'}\n` +
      fromLine(r.info) +
      `  attributes:${attributes === '' ? ' -' : attributes}\n` +
      `  body:     ${short(r.body, 2000)}\n`
    );
  });
  return `${blocks.join('\n')}\n${rows.length} message(s)\n`;
}
