/** The kind rules of issue 25: which callback a body is, what conflicts, and the output rules of SendTaskSuccess. */
import { describe, expect, it } from 'vitest';
import { apiRequest } from '../../src/core/apiInput.js';
import { DEFAULT_LIMITS, type EventLimits, parseEvent, producerBody } from '../../src/core/event.js';
import { OUTPUT_MAX_BYTES } from '../../src/core/eventKind.js';
import type { CallbackKind } from '../../src/core/kinds.js';

const token = 'AAAAKgAAAAIAAAAAAAAAAQ+token/with=base64chars';
const every = { ...DEFAULT_LIMITS, kinds: new Set<CallbackKind>(['failure', 'success', 'heartbeat']) };
const failureOnly = { ...DEFAULT_LIMITS, kinds: new Set<CallbackKind>(['failure']) };

const outcome = (body: unknown, limits: EventLimits = every) => {
  const r = parseEvent(typeof body === 'string' ? body : JSON.stringify(body), limits);
  return r.ok ? r.event.kind : r.reason;
};

describe('the kind of a body', () => {
  it.each([
    ['no kind, no output: a failure, as before', { taskToken: token, error: 'E', cause: 'C' }, 'failure'],
    ['the CLI heartbeat skeleton shape stays a failure', { taskToken: token }, 'failure'],
    ['output makes a success', { taskToken: token, output: '{"a":1}' }, 'success'],
    ['kind success with output', { taskToken: token, kind: 'success', output: '[]' }, 'success'],
    ['kind heartbeat', { taskToken: token, kind: 'heartbeat' }, 'heartbeat'],
    ['kind failure, spelled out', { taskToken: token, kind: 'failure', error: 'E' }, 'failure'],
    ['null kind and null output are absent', { taskToken: token, kind: null, output: null }, 'failure'],
    ['null error beside output is absent', { taskToken: token, output: '1', error: null }, 'success'],
    ['output with error', { taskToken: token, output: '1', error: 'E' }, 'kind_conflict'],
    ['output with cause', { taskToken: token, output: '1', cause: '' }, 'kind_conflict'],
    ['kind failure with output', { taskToken: token, kind: 'failure', output: '1' }, 'kind_conflict'],
    ['kind heartbeat with output', { taskToken: token, kind: 'heartbeat', output: '1' }, 'kind_conflict'],
    ['kind heartbeat with error', { taskToken: token, kind: 'heartbeat', error: 'E' }, 'kind_conflict'],
    ['kind heartbeat with cause', { taskToken: token, kind: 'heartbeat', cause: 'C' }, 'kind_conflict'],
    ['kind success with error', { taskToken: token, kind: 'success', output: '1', error: 'E' }, 'kind_conflict'],
    ['kind success without output', { taskToken: token, kind: 'success' }, 'output_missing'],
    ['an unknown kind', { taskToken: token, kind: 'retry' }, 'kind_invalid'],
    ['a kind of another type', { taskToken: token, kind: ['success'] }, 'kind_invalid'],
    ['a prototype key as kind', { taskToken: token, kind: '__proto__x' }, 'kind_invalid'],
    ['output not a string', { taskToken: token, output: { a: 1 } }, 'output_not_string'],
    ['output not JSON', { taskToken: token, output: "{'a':1}" }, 'output_not_json'],
    ['output empty', { taskToken: token, output: '' }, 'output_not_json'],
    ['the token is checked first', { taskToken: '', kind: 'bogus' }, 'token_empty'],
  ])('%s', (_name, body, expected) => {
    expect(outcome(body)).toBe(expected);
  });

  it('decides from the inner event the same way in every envelope; a CloudEvent type does not decide', () => {
    const inner = { taskToken: token, output: '{"ok":true}' };
    const sns = { Type: 'Notification', MessageId: 'm', Message: JSON.stringify(inner) };
    const eb = { 'detail-type': 'Task', source: 's', detail: inner };
    const ce = { specversion: '1.0', id: '1', source: '/s', type: 'heartbeat', data: inner };
    for (const body of [inner, sns, eb, ce]) expect(outcome(body)).toBe('success');
    const failureCe = { ...ce, type: 'success', data: { taskToken: token, error: 'E' } };
    expect(outcome(failureCe)).toBe('failure');
  });

  it('refuses a kind that is not enabled, and never turns it into a failure', () => {
    expect(outcome({ taskToken: token, output: '1' }, failureOnly)).toBe('kind_not_enabled');
    expect(outcome({ taskToken: token, kind: 'heartbeat' }, failureOnly)).toBe('kind_not_enabled');
    const r = parseEvent(JSON.stringify({ taskToken: token, kind: 'heartbeat' }), failureOnly);
    expect(r).toMatchObject({ ok: false, reason: 'kind_not_enabled', kind: 'heartbeat' });
    // A conflict is a conflict whatever is enabled.
    expect(outcome({ taskToken: token, kind: 'heartbeat', error: 'E' }, failureOnly)).toBe('kind_conflict');
    // Without a kinds setting (validate, the publish API), every kind is accepted.
    expect(outcome({ taskToken: token, kind: 'heartbeat' }, DEFAULT_LIMITS)).toBe('heartbeat');
  });

  it('takes output up to 262,144 UTF-8 bytes and not one more, counting multi-byte characters', () => {
    const exact = JSON.stringify('x'.repeat(OUTPUT_MAX_BYTES - 2));
    expect(outcome({ taskToken: token, output: exact })).toBe('success');
    expect(outcome({ taskToken: token, output: JSON.stringify('x'.repeat(OUTPUT_MAX_BYTES - 1)) })).toBe(
      'output_too_large',
    );
    // 87,382 characters of three bytes each: fewer characters than the limit, more bytes.
    expect(outcome({ taskToken: token, output: JSON.stringify('€'.repeat(87_382)) })).toBe('output_too_large');
  });

  it('never quotes the output in a detail (it is sensitive, like cause)', () => {
    const r = parseEvent(JSON.stringify({ taskToken: token, output: '{"password":"hunter2"' }), every);
    expect(r).toMatchObject({ ok: false, reason: 'output_not_json' });
    expect(!r.ok && r.detail).not.toContain('hunter2');
  });

  it('keeps the relay’s kind off the wire and writes producer bodies a relay of any version reads alike', () => {
    const parse = (body: unknown) => {
      const r = parseEvent(JSON.stringify(body), every);
      if (!r.ok) throw new Error(r.reason);
      return r.event;
    };
    const failure = parse({ taskToken: token, error: 'E' });
    expect(producerBody(failure)).toEqual({ taskToken: token, error: 'E' });
    expect(apiRequest(failure)).toEqual({ operation: 'SendTaskFailure', input: { taskToken: token, error: 'E' } });
    const success = parse({ taskToken: token, kind: 'success', output: '{}' });
    expect(producerBody(success)).toEqual({ taskToken: token, output: '{}' });
    expect(apiRequest(success)).toEqual({ operation: 'SendTaskSuccess', input: { taskToken: token, output: '{}' } });
    const heartbeat = parse({ taskToken: token, kind: 'heartbeat' });
    expect(producerBody(heartbeat)).toEqual({ taskToken: token, kind: 'heartbeat' });
    expect(apiRequest(heartbeat)).toEqual({ operation: 'SendTaskHeartbeat', input: { taskToken: token } });
    // Each producer body parses back to the same event.
    for (const e of [failure, success, heartbeat]) expect(parse(producerBody(e))).toEqual(e);
  });
});
