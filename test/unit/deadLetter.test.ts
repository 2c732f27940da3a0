import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  chunkEntries,
  DEAD_LETTER_ATTRIBUTE,
  deadLetterEntry,
  originalAttributes,
  readDeadLetterInfo,
} from '../../src/deadLetter.js';
import { scrub, shortHash, tokenHash } from '../../src/secret.js';

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

describe('deadLetterEntry', () => {
  it('keeps the body byte for byte and the attributes, and adds one reason attribute', () => {
    const body = '  {"taskToken":""}\n';
    const e = deadLetterEntry('0', { MessageId: 'm-1', Body: body, MessageAttributes: attrs(3) }, info);
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
    const e = deadLetterEntry('0', { Body: 'x', MessageAttributes: original }, info, trace);
    const names = Object.keys(e.MessageAttributes ?? {});
    expect(names).toHaveLength(10);
    expect(e.MessageAttributes?.traceparent?.StringValue).toBe('00-dlqsend-01');
    const overflow = readDeadLetterInfo({ MessageAttributes: e.MessageAttributes })?.overflowAttributes ?? {};
    expect(Object.keys(overflow).length).toBe(2);
    const restored = originalAttributes({ MessageAttributes: e.MessageAttributes });
    expect(restored[DEAD_LETTER_ATTRIBUTE]).toBeUndefined();
    // Every original attribute is back (the trace context is the DLQ send's, by design).
    for (const name of Object.keys(original)) expect(restored[name], name).toBeDefined();
    expect([...(restored.bin?.BinaryValue ?? [])]).toEqual([0, 1, 255]);
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
