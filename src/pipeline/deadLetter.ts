import { createHash } from 'node:crypto';
import type { Message, MessageAttributeValue, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { CallbackKind } from '../core/kinds.js';
import type { DeadLetterReason } from '../core/outcome.js';
import { sqsSafeJson } from '../core/sqsText.js';
import type { OriginSummary } from '../envelope/origin.js';

/** The one message attribute the relay adds to a DLQ message. Its value is JSON: DeadLetterInfo. */
export const DEAD_LETTER_ATTRIBUTE = 'sfn_relay.dead_letter';

/** SQS allows 10 message attributes per message. */
export const MAX_ATTRIBUTES = 10;

/** The largest message SQS takes (and every queue's default MaximumMessageSize since 2025). */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

export interface DeadLetterInfo {
  reason: DeadLetterReason;
  detail: string;
  sourceMessageId: string;
  receiveCount: number;
  /** ISO time the source queue first handed the message to a consumer. */
  firstReceivedAt: string | undefined;
  deadLetteredAt: string;
  /** First 12 hex digits of the token's SHA-256, when the body had a token. */
  tokenHash?: string;
  /** The callback's kind (`failure`, `success`, `heartbeat`), when the body said it. */
  kind?: CallbackKind;
  /** Where the message came from: its envelopes, SNS topic, EventBridge source, CloudEvent source/type/id. */
  origin?: OriginSummary;
  /** The message's SenderId (requested only with the sender allowlist on). */
  sender?: string;
  /**
   * Original attributes not carried as attributes of the DLQ message: those that did not fit beside
   * ours (the producer used all 10), and the producer's `traceparent`/`tracestate`, whose names
   * carry the relay's DLQ send context. Binary values are base64. `sfn-relay dlq redrive` puts
   * them all back.
   */
  overflowAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  /** Attributes of the DLQ message that are the relay's (its trace context); a redrive drops them. */
  relayAttributes?: string[];
  /** What the relay gave up to fit the DLQ's maximum message size (see TRIM_ORDER). */
  trimmed?: Trim[];
  /** Names of original attributes that could not be kept at all (the DLQ's size limit). */
  droppedAttributes?: string[];
}

/**
 * The relay's own additions, in the order they are given up when the entry does not fit the DLQ's
 * MaximumMessageSize: its trace context (the producer's, if replaced, goes back in), the `detail`
 * text, the original attributes kept inside the JSON, the original attributes themselves, then the
 * JSON's producer-chosen fields (`origin`, `sender`, the rest of `detail`), and last the reason
 * attribute itself: a body within a few hundred bytes of the limit is dead-lettered alone, its
 * reason in the log line, the `sfn_relay_dlq_trimmed_total{trim="reason"}` metric and `/readyz`
 * (`dlq_reason_dropped`). The reason is given up only when that makes the entry fit. The body is
 * never given up: one larger than the DLQ's limit goes with its minimal reason and SQS decides; if
 * refused, the limit is read again (dlqLimit.ts) and the message stays in the source queue until an
 * operator raises the DLQ's MaximumMessageSize (the start-up check `dlq_size` says so; the next
 * attempt is fitted to the new limit) or the source's redrive policy moves it.
 */
export const TRIM_ORDER = ['trace_context', 'detail', 'overflow_attributes', 'attributes', 'origin', 'reason'] as const;
export type Trim = (typeof TRIM_ORDER)[number];

/** The W3C attributes the relay writes (its DLQ send span); the producer's values are kept in the JSON. */
const TRACE_ATTRIBUTES = ['traceparent', 'tracestate'];

const SHORT_DETAIL = 120;

type Overflow = NonNullable<DeadLetterInfo['overflowAttributes']>;

/**
 * Sets an own property named by an outside string (an attribute name the producer chose): an
 * assignment would set the object's prototype for `__proto__` and lose the attribute.
 */
function setOwn<T>(o: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
}

function toOverflow(v: MessageAttributeValue): Overflow[string] {
  return {
    DataType: v.DataType ?? 'String',
    ...(v.StringValue === undefined ? {} : { StringValue: v.StringValue }),
    ...(v.BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(v.BinaryValue).toString('base64') }),
  };
}

/**
 * Splits the original attributes into those kept as they are and those that go into the JSON
 * overflow, so that the original attributes plus ours never exceed SQS's limit of 10. Names in
 * `reserved` (the relay's trace context) always go to the overflow, so the producer's values
 * survive and come back on redrive.
 */
export function splitAttributes(
  original: Record<string, MessageAttributeValue> | undefined,
  reserved: ReadonlySet<string> = new Set(),
): { kept: Record<string, MessageAttributeValue>; overflow: DeadLetterInfo['overflowAttributes'] } {
  const kept: Record<string, MessageAttributeValue> = {};
  const overflow: Overflow = {};
  const room = MAX_ATTRIBUTES - 1 - reserved.size;
  // Trace context first: what a later redrive most needs natively.
  const rank = (n: string) => (TRACE_ATTRIBUTES.includes(n) ? TRACE_ATTRIBUTES.indexOf(n) : TRACE_ATTRIBUTES.length);
  const names = Object.keys(original ?? {})
    .filter((n) => n !== DEAD_LETTER_ATTRIBUTE)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of names) {
    const v = original?.[name];
    if (v === undefined) continue;
    if (!reserved.has(name) && Object.keys(kept).length < room) setOwn(kept, name, v);
    else setOwn(overflow, name, toOverflow(v));
  }
  return { kept, overflow: Object.keys(overflow).length > 0 ? overflow : undefined };
}

/** The size SQS counts for a message: body, and each attribute's name, type and value, in bytes. */
export function entrySize(e: Pick<SendMessageBatchRequestEntry, 'MessageBody' | 'MessageAttributes'>): number {
  let size = Buffer.byteLength(e.MessageBody ?? '', 'utf8');
  for (const [name, v] of Object.entries(e.MessageAttributes ?? {})) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(v.DataType ?? '', 'utf8');
    size += v.StringValue === undefined ? 0 : Buffer.byteLength(v.StringValue, 'utf8');
    // Raw bytes, as SQS counts them (the base64 of the JSON protocol is transport, not size).
    size += v.BinaryValue === undefined ? 0 : v.BinaryValue.length;
  }
  return size;
}

export interface DeadLetterBuild {
  entry: SendMessageBatchRequestEntry;
  trimmed: Trim[];
  /**
   * False when even the body alone exceeds `maxBytes`: the body goes with the minimal reason
   * anyway, and SQS decides (its limit may have been raised since it was read).
   */
  fits: boolean;
}

function build(
  id: string,
  message: Message,
  info: Omit<DeadLetterInfo, 'overflowAttributes'>,
  traceAttributes: Record<string, MessageAttributeValue>,
  trimmed: readonly Trim[],
): SendMessageBatchRequestEntry {
  const cut = new Set(trimmed);
  const trace = cut.has('trace_context') ? {} : traceAttributes;
  const original = cut.has('attributes') ? {} : message.MessageAttributes;
  const { kept, overflow } = splitAttributes(original, new Set(Object.keys(trace)));
  const full: DeadLetterInfo = { ...info };
  if (cut.has('detail') && full.detail.length > SHORT_DETAIL) full.detail = `${full.detail.slice(0, SHORT_DETAIL)}…`;
  if (cut.has('origin')) {
    full.detail = '';
    delete full.origin;
    delete full.sender;
  }
  if (overflow !== undefined && !cut.has('overflow_attributes')) full.overflowAttributes = overflow;
  const dropped = [
    ...(cut.has('overflow_attributes') ? Object.keys(overflow ?? {}) : []),
    ...(cut.has('attributes') ? Object.keys(message.MessageAttributes ?? {}) : []),
  ].filter((n) => n !== DEAD_LETTER_ATTRIBUTE);
  if (dropped.length > 0) full.droppedAttributes = dropped;
  if (trimmed.length > 0) full.trimmed = [...trimmed];
  if (Object.keys(trace).length > 0) full.relayAttributes = Object.keys(trace);
  const attributes: Record<string, MessageAttributeValue> = { ...kept, ...trace };
  // Producer-chosen strings are in the JSON: escaped into SQS's character set (see sqsText.ts).
  if (!cut.has('reason')) attributes[DEAD_LETTER_ATTRIBUTE] = { DataType: 'String', StringValue: sqsSafeJson(full) };
  return {
    Id: id,
    MessageBody: message.Body ?? '',
    ...(Object.keys(attributes).length === 0 ? {} : { MessageAttributes: attributes }),
  };
}

/**
 * A SendMessageBatch entry for the DLQ: the body byte for byte, the original attributes, and the
 * reason. `traceAttributes` (the DLQ send span's context) take the place of the producer's
 * `traceparent`/`tracestate`, whose values are kept in the JSON and restored on redrive. When the
 * entry exceeds `maxBytes` (the DLQ's MaximumMessageSize), the relay's additions are given up in
 * TRIM_ORDER until it fits; the JSON lists what was trimmed.
 */
export function deadLetterEntry(
  id: string,
  message: Message,
  info: Omit<DeadLetterInfo, 'overflowAttributes'>,
  traceAttributes: Record<string, MessageAttributeValue> = {},
  maxBytes = SQS_MAX_MESSAGE_BYTES,
): DeadLetterBuild {
  for (let level = 0; level <= TRIM_ORDER.length; level += 1) {
    const trimmed = TRIM_ORDER.slice(0, level);
    const entry = build(id, message, info, traceAttributes, trimmed);
    if (entrySize(entry) <= maxBytes) return { entry, trimmed, fits: true };
  }
  // Not even the body alone fits: the limit read at start-up may be stale (an operator raised it),
  // so the entry goes with its minimal reason, and SQS decides. If it is refused, the settle step
  // reads the DLQ's limit again (dlqLimit.ts) and the next attempt is fitted to it: the reason is
  // then dropped when only the body fits, so a raised limit always ends the hand-backs.
  const minimal = TRIM_ORDER.filter((t) => t !== 'reason');
  return { entry: build(id, message, info, traceAttributes, minimal), trimmed: minimal, fits: false };
}

/** The group a DLQ entry goes to on a FIFO DLQ when its source message had none (a standard source). */
export const DEFAULT_DLQ_GROUP = 'sfn-relay';

/**
 * Where a DLQ entry goes within the DLQ. The source message's group is kept (FIFO queues, and fair
 * queues: a group on a standard queue). A FIFO DLQ also gets a deduplication id derived from the
 * source message id, so a crash between the DLQ send and the delete cannot leave a second copy in
 * the DLQ within SQS's 5-minute deduplication window.
 */
export function dlqRouting(
  message: Message,
  dlqFifo: boolean,
): Pick<SendMessageBatchRequestEntry, 'MessageGroupId' | 'MessageDeduplicationId'> {
  const group = message.Attributes?.MessageGroupId;
  if (dlqFifo) {
    return {
      MessageGroupId: group ?? DEFAULT_DLQ_GROUP,
      MessageDeduplicationId: createHash('sha256')
        .update(`sfn-relay:dlq:${message.MessageId ?? ''}`)
        .digest('hex'),
    };
  }
  return group === undefined ? {} : { MessageGroupId: group };
}

/** Reads our attribute back from a DLQ message (CLI, tests); undefined when absent or not ours. */
export function readDeadLetterInfo(message: Message): DeadLetterInfo | undefined {
  const raw = message.MessageAttributes?.[DEAD_LETTER_ATTRIBUTE]?.StringValue;
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as DeadLetterInfo;
  } catch {
    return undefined;
  }
}

/**
 * The attributes the producer sent, from a DLQ message (for a redrive): ours removed (the reason,
 * the relay's trace context), the ones kept in the JSON put back.
 */
export function originalAttributes(message: Message): Record<string, MessageAttributeValue> {
  const info = readDeadLetterInfo(message);
  const relay = new Set([DEAD_LETTER_ATTRIBUTE, ...(info?.relayAttributes ?? [])]);
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(message.MessageAttributes ?? {})) {
    if (!relay.has(name)) setOwn(out, name, v);
  }
  for (const [name, v] of Object.entries(info?.overflowAttributes ?? {})) {
    setOwn(out, name, {
      DataType: v.DataType,
      ...(v.StringValue === undefined ? {} : { StringValue: v.StringValue }),
      ...(v.BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(v.BinaryValue, 'base64') }),
    });
  }
  return out;
}

/** A SendMessageBatch's payload budget: 256 KiB is the smallest limit SQS has had. */
export const SEND_BATCH_MAX_BYTES = 250_000;

/**
 * Groups entries so that each SendMessageBatch stays within 10 entries and `maxBatchBytes`; an
 * entry that alone exceeds the budget goes in a group of its own.
 */
export function chunkEntries(
  entries: SendMessageBatchRequestEntry[],
  maxBatchBytes = SEND_BATCH_MAX_BYTES,
): SendMessageBatchRequestEntry[][] {
  const groups: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = entrySize(e);
    if (current.length > 0 && (current.length === 10 || bytes + size > maxBatchBytes)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
