import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { scrub, shortHash, tokenHash } from '../../src/core/secret.js';
import { isSqsText } from '../../src/core/sqsText.js';
import {
  chunkEntries,
  DEAD_LETTER_ATTRIBUTE,
  deadLetterEntry,
  entrySize,
  originalAttributes,
  readDeadLetterInfo,
  SQS_MAX_MESSAGE_BYTES,
} from '../../src/pipeline/deadLetter.js';

const info = {
  reason: 'token_empty' as const,
  detail: '"taskToken" is empty',
  sourceMessageId: 'm-1',
  receiveCount: 1,
  firstReceivedAt: '2026-11-25T12:00:00.000Z',
  deadLetteredAt: '2026-11-25T12:00:01.000Z',
};

function attrs(n: number): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (let i = 0; i < n; i += 1) out[`a${i}`] = { DataType: 'String', StringValue: `v${i}` };
  return out;
}

function entryOf(...args: Parameters<typeof deadLetterEntry>) {
  const built = deadLetterEntry(...args);
  if (!built.fits) throw new Error('does not fit');
  return built;
}

describe('deadLetterEntry', () => {
  it('keeps the body byte for byte and the attributes, and adds one reason attribute', () => {
    const body = '  {"taskToken":""}\n';
    const { entry: e, trimmed } = entryOf('0', { MessageId: 'm-1', Body: body, MessageAttributes: attrs(3) }, info);
    expect(trimmed).toEqual([]);
    expect(e.MessageBody).toBe(body);
    expect(Object.keys(e.MessageAttributes ?? {}).sort()).toEqual(['a0', 'a1', 'a2', DEAD_LETTER_ATTRIBUTE]);
    expect(readDeadLetterInfo({ MessageAttributes: e.MessageAttributes })).toEqual(info);
  });

  it('never exceeds 10 attributes: what does not fit goes into the reason JSON and comes back on redrive', () => {
    const original = {
      ...attrs(9),
      traceparent: { DataType: 'String', StringValue: '00-producer-01' },
      bin: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 255]) },
    };
    const trace = { traceparent: { DataType: 'String', StringValue: '00-dlqsend-01' } };
    const { entry: e } = entryOf('0', { Body: 'x', MessageAttributes: original }, info, trace);
    const names = Object.keys(e.MessageAttributes ?? {});
    expect(names).toHaveLength(10);
    expect(e.MessageAttributes?.traceparent?.StringValue).toBe('00-dlqsend-01');
    const dlqInfo = readDeadLetterInfo({ MessageAttributes: e.MessageAttributes });
    // The producer's traceparent is kept in the JSON, beside the attributes that did not fit.
    expect(Object.keys(dlqInfo?.overflowAttributes ?? {}).sort()).toEqual(['a8', 'bin', 'traceparent']);
    expect(dlqInfo?.relayAttributes).toEqual(['traceparent']);
    const restored = originalAttributes({ MessageAttributes: e.MessageAttributes });
    expect(restored[DEAD_LETTER_ATTRIBUTE]).toBeUndefined();
    // Every original attribute is back, the producer's trace context included: the message as sent.
    expect(Object.keys(restored).sort()).toEqual(Object.keys(original).sort());
    expect(restored.traceparent?.StringValue).toBe('00-producer-01');
    expect([...(restored.bin?.BinaryValue ?? [])]).toEqual([0, 1, 255]);
  });

  it('gives up the relay’s additions, in order, to fit the DLQ’s maximum size, never the body', () => {
    const trace = { traceparent: { DataType: 'String', StringValue: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` } };
    const big = { ...info, detail: 'd'.repeat(600) };
    const message = {
      MessageId: 'm-1',
      Body: 'x'.repeat(2000),
      MessageAttributes: { ...attrs(9), extra: { DataType: 'String', StringValue: 'e'.repeat(400) } },
    };
    const full = entryOf('0', message, big, trace);
    expect(full.trimmed).toEqual([]);
    const fullSize = entrySize(full.entry);
    // Just too small for everything: the relay's trace context goes first.
    const less = entryOf('0', message, big, trace, fullSize - 1);
    expect(less.trimmed).toEqual(['trace_context']);
    expect(less.entry.MessageAttributes?.traceparent).toBeUndefined();
    // Smaller still: the detail is cut, then the attributes inside the JSON, then every attribute.
    const cut = entryOf('0', message, big, trace, entrySize(less.entry) - 1);
    expect(cut.trimmed).toEqual(['trace_context', 'detail']);
    expect(readDeadLetterInfo({ MessageAttributes: cut.entry.MessageAttributes })?.detail.length).toBeLessThan(130);
    const inner = entryOf('0', message, big, trace, entrySize(cut.entry) - 1);
    expect(inner.trimmed).toEqual(['trace_context', 'detail', 'overflow_attributes']);
    const bare = entryOf('0', message, big, trace, entrySize(inner.entry) - 1);
    expect(bare.trimmed).toEqual(['trace_context', 'detail', 'overflow_attributes', 'attributes']);
    expect(bare.entry.MessageBody).toBe(message.Body);
    expect(Object.keys(bare.entry.MessageAttributes ?? {})).toEqual([DEAD_LETTER_ATTRIBUTE]);
    const bareInfo = readDeadLetterInfo({ MessageAttributes: bare.entry.MessageAttributes });
    expect(bareInfo?.reason).toBe('token_empty');
    expect(bareInfo?.droppedAttributes?.length).toBe(10);
    // Then the producer-chosen fields of the JSON, then the reason attribute: the body alone.
    const plain = entryOf('0', message, big, trace, entrySize(bare.entry) - 1);
    expect(plain.trimmed.at(-1)).toBe('origin');
    expect(readDeadLetterInfo({ MessageAttributes: plain.entry.MessageAttributes })?.reason).toBe('token_empty');
    const alone = entryOf('0', message, big, trace, entrySize(plain.entry) - 1);
    expect(alone.trimmed.at(-1)).toBe('reason');
    expect(alone.entry.MessageAttributes).toBeUndefined();
    expect(alone.entry.MessageBody).toBe(message.Body);
    // A body that alone exceeds the limit (read at start-up; an operator may have raised it since):
    // it goes with its minimal reason, and SQS decides. A refusal makes the relay read the limit
    // again (dlqLimit.ts), so a raised limit ends it (found by the property test: a body plus its
    // minimal reason was refused forever by a DLQ raised to the source's size).
    const over = deadLetterEntry('0', message, big, trace, message.Body.length - 1);
    expect(over.fits).toBe(false);
    expect(over.entry).toEqual(plain.entry);
    expect(over.trimmed.at(-1)).toBe('origin');
  });

  it('dead-letters a body just under 1 MiB: the body alone when even the minimal reason does not fit', () => {
    const message = { MessageId: 'm-1', Body: 'x'.repeat(1_048_383), MessageAttributes: attrs(2) };
    const built = deadLetterEntry('0', message, { ...info, tokenHash: 'abcdefabcdef' });
    expect(built.fits).toBe(true);
    expect(entrySize(built.entry)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(built.entry.MessageBody).toBe(message.Body);
    // A little further from the limit, the minimal reason still goes with it.
    const roomier = deadLetterEntry('0', { ...message, Body: 'x'.repeat(1_048_000) }, info);
    expect(roomier.fits).toBe(true);
    expect(readDeadLetterInfo({ MessageAttributes: roomier.entry.MessageAttributes })?.reason).toBe('token_empty');
  });

  it('counts a Binary attribute in raw bytes, as SQS does: one that fits is kept', () => {
    const blob = new Uint8Array(300_000).fill(7);
    const message = {
      MessageId: 'm-1',
      Body: 'a'.repeat(700_000),
      MessageAttributes: { blob: { DataType: 'Binary', BinaryValue: blob } },
    };
    const { entry, trimmed, fits } = deadLetterEntry('1', message, info, {}, SQS_MAX_MESSAGE_BYTES);
    expect(fits).toBe(true);
    expect(trimmed).toEqual([]);
    expect(entry.MessageAttributes?.blob?.BinaryValue).toBe(blob);
    expect(readDeadLetterInfo(entry)?.droppedAttributes).toBeUndefined();
    expect(entrySize(entry)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect(entrySize({ MessageBody: 'x', MessageAttributes: { b: { DataType: 'Binary', BinaryValue: blob } } })).toBe(
      1 + 1 + 6 + 300_000,
    );
  });

  it('keeps a producer attribute named __proto__ (or constructor) like any other, through the JSON and back', () => {
    const original = JSON.parse(
      `{"__proto__":{"DataType":"String","StringValue":"p"},"constructor":{"DataType":"String","StringValue":"c"}}`,
    ) as Record<string, MessageAttributeValue>;
    const few = entryOf('0', { MessageId: 'm-1', Body: '{}', MessageAttributes: original }, info);
    expect(Object.keys(few.entry.MessageAttributes ?? {}).sort()).toEqual([
      '__proto__',
      'constructor',
      DEAD_LETTER_ATTRIBUTE,
    ]);
    // Eleven: some go into the JSON, and come back on redrive.
    const many = { ...attrs(9), ...original };
    const { entry } = entryOf('0', { MessageId: 'm-1', Body: '{}', MessageAttributes: many }, info);
    const restored = originalAttributes({ MessageAttributes: entry.MessageAttributes });
    expect(Object.keys(restored).sort()).toEqual(Object.keys(many).sort());
    expect(Object.hasOwn(restored, '__proto__')).toBe(true);
  });

  it('keeps its attribute inside SQS’s character set whatever the producer chose (U+FFFE/U+FFFF, lone surrogates, controls)', () => {
    const nasty = 'a\uFFFEb\uFFFFc\uD800d\uDC00e\u0001f\u007F\u0085';
    const withOrigin = {
      ...info,
      detail: nasty,
      origin: { envelope: 'cloudevent', cloudEventSource: nasty, cloudEventType: nasty, snsTopicArn: nasty },
      sender: nasty,
    };
    const { entry } = entryOf('0', { MessageId: 'm-1', Body: '{}' }, withOrigin);
    for (const v of Object.values(entry.MessageAttributes ?? {})) {
      expect(isSqsText(v.StringValue ?? '')).toBe(true);
    }
    // Escaped, not replaced: the same JSON once read back.
    expect(readDeadLetterInfo({ MessageAttributes: entry.MessageAttributes })).toEqual(withOrigin);
  });

  it('groups DLQ entries by count and bytes, a large one alone', () => {
    const small = (id: string) => ({ Id: id, MessageBody: 'x'.repeat(100) });
    const big = { Id: 'big', MessageBody: 'y'.repeat(300_000) };
    const groups = chunkEntries([...Array.from({ length: 12 }, (_, i) => small(String(i))), big, small('z')], 250_000);
    expect(groups.map((g) => g.length)).toEqual([10, 2, 1, 1]);
  });
});

describe('secrets', () => {
  it('hashes tokens and scrubs them, and anything token-shaped, from text', () => {
    const token = 'AAAAKgAAAAIAAAAAAAAAAQsecretTokenValueThatIsLong+/=';
    expect(tokenHash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(shortHash(tokenHash(token))).toHaveLength(12);
    const text = scrub(`Invalid Token: '${token}'`, token);
    expect(text).not.toContain(token);
    expect(text).toContain(`<token ${shortHash(tokenHash(token))}>`);
    // A different token (or a cut one) is still removed by shape.
    expect(scrub('bad 6a1f0b2e-7c3d-4e5f-8a9b-0c1d2e3f4a5b here', undefined)).toBe('bad <redacted> here');
    expect(scrub('x'.repeat(500), undefined, 10)).toBe('<redacted>');
  });
});
