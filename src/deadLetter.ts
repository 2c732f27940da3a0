import type { Message, MessageAttributeValue, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { DeadLetterReason } from './outcome.js';

/** The one message attribute the relay adds to a DLQ message. Its value is JSON: DeadLetterInfo. */
export const DEAD_LETTER_ATTRIBUTE = 'sfn_relay.dead_letter';

/** SQS allows 10 message attributes per message. */
export const MAX_ATTRIBUTES = 10;

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
  /**
   * Original attributes that did not fit beside ours (the producer used all 10). Binary values are
   * base64. `sfn-relay dlq redrive` puts them back.
   */
  overflowAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
}

// Trace context is what a later redrive most needs natively; keep it ahead of the rest.
const PREFERRED = ['traceparent', 'tracestate'];

function rank(name: string): number {
  const i = PREFERRED.indexOf(name);
  return i === -1 ? PREFERRED.length : i;
}

/**
 * Splits the original attributes into those kept as they are and those that go into the JSON
 * overflow, so that the original attributes plus ours never exceed SQS's limit of 10.
 */
export function splitAttributes(
  original: Record<string, MessageAttributeValue> | undefined,
  reserved: ReadonlySet<string> = new Set(),
): {
  kept: Record<string, MessageAttributeValue>;
  overflow: DeadLetterInfo['overflowAttributes'];
} {
  const names = Object.keys(original ?? {})
    .filter((n) => n !== DEAD_LETTER_ATTRIBUTE && !reserved.has(n))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const room = MAX_ATTRIBUTES - 1 - reserved.size;
  const kept: Record<string, MessageAttributeValue> = {};
  const overflow: NonNullable<DeadLetterInfo['overflowAttributes']> = {};
  names.forEach((name, i) => {
    const v = original?.[name];
    if (v === undefined) return;
    if (i < room) {
      kept[name] = v;
    } else {
      overflow[name] = {
        DataType: v.DataType ?? 'String',
        ...(v.StringValue === undefined ? {} : { StringValue: v.StringValue }),
        ...(v.BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(v.BinaryValue).toString('base64') }),
      };
    }
  });
  return { kept, overflow: Object.keys(overflow).length > 0 ? overflow : undefined };
}

/**
 * A SendMessageBatch entry for the DLQ: the body byte for byte, the attributes, and the reason.
 * `traceAttributes` (the DLQ send span's context) replace the producer's of the same name.
 */
export function deadLetterEntry(
  id: string,
  message: Message,
  info: Omit<DeadLetterInfo, 'overflowAttributes'>,
  traceAttributes: Record<string, MessageAttributeValue> = {},
): SendMessageBatchRequestEntry {
  const { kept, overflow } = splitAttributes(message.MessageAttributes, new Set(Object.keys(traceAttributes)));
  const full: DeadLetterInfo = overflow === undefined ? info : { ...info, overflowAttributes: overflow };
  return {
    Id: id,
    MessageBody: message.Body ?? '',
    MessageAttributes: {
      ...kept,
      ...traceAttributes,
      [DEAD_LETTER_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(full) },
    },
  };
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

/** The original attributes of a DLQ message, overflow put back, ours removed (for a redrive). */
export function originalAttributes(message: Message): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(message.MessageAttributes ?? {})) {
    if (name !== DEAD_LETTER_ATTRIBUTE) out[name] = v;
  }
  for (const [name, v] of Object.entries(readDeadLetterInfo(message)?.overflowAttributes ?? {})) {
    out[name] = {
      DataType: v.DataType,
      ...(v.StringValue === undefined ? {} : { StringValue: v.StringValue }),
      ...(v.BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(v.BinaryValue, 'base64') }),
    };
  }
  return out;
}

/** Rough size of an entry as SQS counts it (body + attribute names, types and values). */
export function entrySize(e: SendMessageBatchRequestEntry): number {
  let size = Buffer.byteLength(e.MessageBody ?? '', 'utf8');
  for (const [name, v] of Object.entries(e.MessageAttributes ?? {})) {
    size += name.length + (v.DataType?.length ?? 0);
    size += v.StringValue === undefined ? 0 : Buffer.byteLength(v.StringValue, 'utf8');
    size += v.BinaryValue?.length ?? 0;
  }
  return size;
}

/**
 * Groups entries so that each SendMessageBatch stays within 10 entries and `maxBatchBytes`; an
 * entry that alone exceeds the budget goes in a group of its own.
 */
export function chunkEntries(
  entries: SendMessageBatchRequestEntry[],
  maxBatchBytes: number,
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
