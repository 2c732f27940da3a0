import { describe, expect, it } from 'vitest';
import { CAUSE_MAX, ERROR_MAX, parseEvent, TRUNCATION_MARKER } from '../../src/core/event.js';

const token = 'AAAAKgAAAAIAAAAAAAAAAQ+token/with=base64chars';

describe('parseEvent', () => {
  it('accepts the CLI skeleton shape and ignores unknown fields', () => {
    const r = parseEvent(JSON.stringify({ taskToken: token, error: 'E', cause: 'C', extra: { x: 1 } }));
    expect(r).toEqual({
      ok: true,
      event: { kind: 'failure', taskToken: token, error: 'E', cause: 'C' },
      truncated: [],
      origin: { envelope: 'plain' },
    });
  });

  it('treats null error/cause as absent and keeps empty strings', () => {
    const r = parseEvent(JSON.stringify({ taskToken: token, error: null, cause: '' }));
    expect(r.ok && r.event).toEqual({ kind: 'failure', taskToken: token, cause: '' });
  });

  it('unwraps an SNS notification and an EventBridge event', () => {
    const inner = JSON.stringify({ taskToken: token, error: 'E' });
    const sns = parseEvent(JSON.stringify({ Type: 'Notification', Message: inner }));
    expect(sns.ok && sns.origin.envelope).toBe('sns');
    expect(sns.ok && sns.event.kind === 'failure' && sns.event.error).toBe('E');
    const eb = parseEvent(JSON.stringify({ 'detail-type': 'x', detail: { taskToken: token } }));
    expect(eb.ok && eb.origin.envelope).toBe('eventbridge');
  });

  it.each([
    ['', 'body_not_json'],
    ['{', 'body_not_json'],
    ['null', 'body_not_object'],
    ['"str"', 'body_not_object'],
    ['{}', 'token_missing'],
    ['{"taskToken":null}', 'token_missing'],
    ['{"taskToken":[]}', 'token_not_string'],
    ['{"taskToken":""}', 'token_empty'],
    ['{"taskToken":"a\\tb"}', 'token_invalid_character'],
    ['{"taskToken":"a\\u0000b"}', 'token_invalid_character'],
    ['{"taskToken":"a\\u200bb"}', 'token_invalid_character'],
    ['{"taskToken":"a\\ufffdb"}', 'token_invalid_character'],
    ['{"taskToken":"a\\ud800b"}', 'token_invalid_character'],
    ['{"taskToken":"t","error":1}', 'error_not_string'],
    ['{"taskToken":"t","cause":{}}', 'cause_not_string'],
    ['{"taskToken":"t","constructor":{"prototype":{}}}', 'forbidden_key'],
    ['{"a":[{"b":{"__proto__":1}}],"taskToken":"t"}', 'forbidden_key'],
    ['{"Type":"Notification","Message":"nope"}', 'sns_message_not_json'],
    ['{"Type":"Notification","Message":{"taskToken":"t"}}', 'sns_message_not_json'],
    ['{"Type":"Notification","Message":"{\\"__proto__\\":{}}"}', 'forbidden_key'],
    ['{"detail-type":"x"}', 'eventbridge_detail_missing'],
    ['{"detail-type":"x","detail":"str"}', 'eventbridge_detail_missing'],
  ])('rejects %s as %s', (body, reason) => {
    const r = parseEvent(body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe(reason);
  });

  it('accepts a token of 2048 characters and rejects 2049', () => {
    expect(parseEvent(JSON.stringify({ taskToken: 'a'.repeat(2048) })).ok).toBe(true);
    const r = parseEvent(JSON.stringify({ taskToken: 'a'.repeat(2049) }));
    expect(!r.ok && r.reason).toBe('token_too_long');
  });

  it('truncates an over-long error and cause with a visible marker, without splitting a surrogate pair', () => {
    const error = `${'e'.repeat(ERROR_MAX - TRUNCATION_MARKER.length - 1)}😀${'x'.repeat(20)}`;
    const r = parseEvent(JSON.stringify({ taskToken: token, error, cause: 'c'.repeat(CAUSE_MAX + 1) }));
    if (!r.ok || r.event.kind !== 'failure') throw new Error('not a failure');
    expect(r.truncated).toEqual(['error', 'cause']);
    expect(r.event.error?.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(r.event.error?.length).toBeLessThanOrEqual(ERROR_MAX);
    expect(r.event.error).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(r.event.cause).toHaveLength(CAUSE_MAX);
    // Exactly at the limit nothing is cut.
    const exact = parseEvent(JSON.stringify({ taskToken: token, error: 'e'.repeat(ERROR_MAX) }));
    expect(exact.ok && exact.truncated).toEqual([]);
  });

  it('rejects over-long text when configured to', () => {
    const r = parseEvent(JSON.stringify({ taskToken: token, error: 'e'.repeat(257) }), {
      maxBodyBytes: 1_048_576,
      overlongText: 'reject',
    });
    expect(!r.ok && r.reason).toBe('error_too_long');
  });

  it('rejects a body over the byte limit before parsing it', () => {
    const r = parseEvent(`{"taskToken":"t","cause":"${'é'.repeat(600)}"}`, {
      maxBodyBytes: 1024,
      overlongText: 'truncate',
    });
    expect(!r.ok && r.reason).toBe('body_too_large');
  });

  it('survives deeply nested JSON', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const r = parseEvent(deep);
    expect(r.ok).toBe(false);
  });

  it('never puts the token in a rejection detail', () => {
    const bad = `${token} with space`;
    const r = parseEvent(JSON.stringify({ taskToken: bad }));
    expect(!r.ok && r.detail).not.toContain(token);
  });
});
