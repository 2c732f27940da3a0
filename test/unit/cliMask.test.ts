/**
 * `dlq list` / `inspect` mask token-shaped producer text in every printed field (the error, the
 * origin, overflow attributes, percent-encoded runs), print binary values by size, and list an
 * attribute a producer named `__proto__` like any other.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { maskText } from '../../src/cli/dlqMask.js';
import { formatDetailed, formatTable, shown, toRow } from '../../src/cli/dlqRead.js';
import { DEAD_LETTER_ATTRIBUTE } from '../../src/pipeline/deadLetter.js';

const TOKEN = 'be35d4eb-846f-4c21-a2a5-a0ad711b3e10';
const IN_ERROR = 'b57b4038-ab7f-4324-bf8a-3b7675bca000';
const EVENT_ID = '4a58c64d-f8b2-4d96-8ea1-c9d99ca6c472';
const IN_BINARY = 'e81383ea-3b63-493c-8316-4cf3b0ea5f92';
/** A long base64 token, percent-encoded as a URL or a form would carry it. */
const B64 = `AAAA${Buffer.from(Array.from({ length: 90 }, (_, i) => (i * 37 + 11) % 256)).toString('base64')}`;
const ENCODED = encodeURIComponent(B64);

function message(): Message {
  const info = {
    reason: 'retries_exhausted',
    detail: 'x',
    sourceMessageId: 's1',
    receiveCount: 1,
    deadLetteredAt: '2026-12-05T00:00:00.000Z',
    origin: { envelope: 'cloudevent', cloudEventSource: 'src', cloudEventType: 't', cloudEventId: EVENT_ID },
    overflowAttributes: {
      'x-bin': { DataType: 'Binary', BinaryValue: Buffer.from(IN_BINARY).toString('base64') },
    },
  };
  return {
    MessageId: 'm1',
    Body: JSON.stringify({ taskToken: TOKEN, error: IN_ERROR }),
    MessageAttributes: {
      [DEAD_LETTER_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(info) },
      a0: { DataType: 'String', StringValue: ENCODED },
    },
  };
}

const secrets = [TOKEN, IN_ERROR, EVENT_ID, IN_BINARY, Buffer.from(IN_BINARY).toString('base64')];

/** Every piece of 8 characters or more between the escapes of the encoded token. */
function encodedPieces(text: string): string[] {
  return ENCODED.split(/%[0-9A-F]{2}/).filter((p) => p.length >= 8 && text.includes(p));
}

describe('dlq list/inspect masking without --show-tokens', () => {
  const row = shown(toRow(message(), Date.now()), false);
  const printed = [JSON.stringify(row, null, 2), formatTable([row]), formatDetailed([row])];

  it('masks a token-shaped error, the CloudEvent id and a binary overflow value (its size shown)', () => {
    for (const text of printed) for (const s of secrets) expect(text).not.toContain(s);
    expect(row.error).toBe('<redacted>');
    expect(row.info?.origin?.cloudEventId).toBe('<redacted>');
    expect(row.info?.overflowAttributes?.['x-bin']).toEqual({ DataType: 'Binary', BinaryValue: '(36 bytes)' });
    expect(row.info?.origin?.cloudEventSource).toBe('src');
  });

  it('masks a percent-encoded token whole, not only the pieces between its escapes', () => {
    expect(encodedPieces(ENCODED).length).toBeGreaterThan(0);
    for (const text of printed) expect(encodedPieces(text)).toEqual([]);
    expect(maskText(`token: ${ENCODED}&x=1`)).toBe('token: <redacted>&x=1');
    // Ordinary encoded text stays readable.
    expect(maskText('a%20b%2Fc')).toBe('a%20b%2Fc');
  });

  it('--show-tokens still shows them as they are', () => {
    const raw = JSON.stringify(shown(toRow(message(), Date.now()), true));
    for (const s of [TOKEN, IN_ERROR, EVENT_ID]) expect(raw).toContain(s);
  });
});

describe('producer attribute names', () => {
  it('lists an attribute named __proto__ like any other, and masks its value', () => {
    const m = message();
    m.MessageAttributes = JSON.parse(`{"__proto__": {"DataType": "String", "StringValue": "token ${TOKEN}"}}`);
    const row = toRow(m, Date.now());
    expect(Object.keys(row.attributes)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(row.attributes)).toBe(Object.prototype);
    const masked = shown(row, false);
    expect(Object.keys(masked.attributes)).toEqual(['__proto__']);
    expect(formatDetailed([masked])).toContain('__proto__ (String): token <redacted>');
  });
});
