import { describe, expect, it } from 'vitest';
import type { SendResult } from '../../src/aws/stepFunctions.js';
import { countsAgainstMessage, decide, handBackDelay, isWholesaleFailure } from '../../src/core/outcome.js';
import { FATE, sendError } from '../support/fate.js';

const base = FATE;

const err = sendError;

describe('decide', () => {
  it('maps the Step Functions answers to outcomes (the README table)', () => {
    const send = (r: SendResult, f = base) => decide({ stage: 'send', result: r }, f);
    expect(send({ ok: true, attempts: 1 })).toEqual({ kind: 'failed' });
    expect(send(err('TaskTimedOut', 400))).toEqual({ kind: 'alreadyClosed' });
    expect(send(err('InvalidToken', 400))).toMatchObject({ kind: 'deadLetter', reason: 'sfn_invalid_token' });
    expect(send(err('TaskDoesNotExist', 400))).toMatchObject({ kind: 'deadLetter', reason: 'sfn_task_does_not_exist' });
    expect(send(err('ValidationException', 400))).toMatchObject({ kind: 'deadLetter', reason: 'sfn_invalid_request' });
    expect(send(err('InvalidOutput', 400))).toMatchObject({ kind: 'deadLetter', reason: 'sfn_invalid_request' });
    expect(send(err('ThrottlingException', 400))).toMatchObject({ kind: 'retryLater', cause: 'throttled' });
    expect(send(err('KmsThrottlingException', 400))).toMatchObject({ kind: 'retryLater', cause: 'throttled' });
    expect(send(err('ServiceUnavailable', 503))).toMatchObject({ kind: 'retryLater', cause: 'unavailable' });
    expect(send(err('ECONNRESET'))).toMatchObject({ kind: 'retryLater', cause: 'unavailable' });
    expect(send(err('SomethingNew', 400))).toMatchObject({ kind: 'retryLater', cause: 'unexpected' });
    expect(send(err('AccessDeniedException', 400))).toMatchObject({ kind: 'retryLater', cause: 'unauthorized' });
    expect(send(err('KmsInvalidStateException', 400))).toMatchObject({ kind: 'retryLater', cause: 'unauthorized' });
  });

  it('counts an error named like an Object.prototype member against the message, and ends it at MAX_RECEIVES', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const evidence = { stage: 'send' as const, result: err(name, 400) };
      expect(countsAgainstMessage(evidence), name).toBe(true);
      expect(decide(evidence, { ...base, ownFailures: 1 }), name).toMatchObject({
        kind: 'retryLater',
        cause: 'unexpected',
      });
      expect(decide(evidence, { ...base, receiveCount: 500, ownFailures: base.maxReceives }), name).toMatchObject({
        kind: 'deadLetter',
        reason: 'retries_exhausted',
      });
    }
  });

  it('dead-letters at MAX_RECEIVES failures of the message’s own, whatever its receive count', () => {
    const throttled = { stage: 'send' as const, result: err('ThrottlingException', 400) };
    expect(decide(throttled, { ...base, receiveCount: 12, ownFailures: 5 })).toEqual({
      kind: 'deadLetter',
      reason: 'retries_exhausted',
      detail: 'gave up after 5 failed attempts of its own (12 receives); last error ThrottlingException (HTTP 400)',
    });
    // Many receives (an outage, busy claims) but only 4 failures of its own: not exhausted.
    expect(decide(throttled, { ...base, receiveCount: 40, ownFailures: 4 }).kind).toBe('retryLater');
    const unavailable = { stage: 'send' as const, result: err('ServiceUnavailable', 503) };
    expect(decide(unavailable, { ...base, ownFailures: 5 })).toMatchObject({ reason: 'retries_exhausted' });
  });

  it('counts throttled, unavailable and unexpected answers against the message, nothing else', () => {
    const send = (r: SendResult, probe = false) => countsAgainstMessage({ stage: 'send', result: r, probe });
    expect(send(err('ThrottlingException', 400))).toBe(true);
    expect(send(err('ServiceUnavailable', 503))).toBe(true);
    expect(send(err('SomethingNew', 400))).toBe(true);
    expect(send(err('ServiceUnavailable', 503), true)).toBe(false);
    expect(send(err('AccessDeniedException', 400))).toBe(false);
    // An error name is an outside string: `AbortError` from an endpoint is no interruption of ours.
    expect(send(err('AbortError'))).toBe(true);
    expect(send(err('AbortError', 400))).toBe(true);
    expect(send(err('InvalidToken', 400))).toBe(false);
    expect(send({ ok: true, attempts: 1 })).toBe(false);
    expect(countsAgainstMessage({ stage: 'dedup', claim: 'busy' })).toBe(false);
    expect(countsAgainstMessage({ stage: 'intake', cause: 'breaker_open' })).toBe(false);
    expect(countsAgainstMessage({ stage: 'deadLetterSend', code: 'InvalidParameterValue', message: 'm' })).toBe(false);
  });

  it('keeps a message the DLQ refused in the source queue with a growing delay, never dead-lettered', () => {
    const refused = { stage: 'deadLetterSend' as const, code: 'InvalidParameterValue', message: 'too long' };
    const delays = [1, 3, 5].map((n) => decide(refused, { ...base, receiveCount: n, ownFailures: 99 }));
    expect(delays.map((o) => o.kind)).toEqual(['dlqSendFailed', 'dlqSendFailed', 'dlqSendFailed']);
    expect(delays[0]).toEqual({
      kind: 'dlqSendFailed',
      code: 'InvalidParameterValue',
      detail: 'too long',
      delaySeconds: 2,
    });
    const seconds = delays.map((o) => (o.kind === 'dlqSendFailed' ? o.delaySeconds : 0));
    expect(seconds[0]).toBeLessThan(seconds[1] ?? 0);
    expect(seconds[1]).toBeLessThan(seconds[2] ?? 0);
  });

  it('never dead-letters for causes that are not the message’s fault', () => {
    const at = { ...base, receiveCount: 500, ownFailures: 500 };
    expect(decide({ stage: 'send', result: err('AccessDeniedException', 400) }, at).kind).toBe('retryLater');
    expect(decide({ stage: 'send', result: err('CredentialsProviderError') }, at).kind).toBe('retryLater');
    expect(decide({ stage: 'dedup', claim: 'busy' }, at).kind).toBe('retryLater');
    expect(decide({ stage: 'dedup', claim: 'unavailable' }, at).kind).toBe('retryLater');
    expect(decide({ stage: 'intake', cause: 'breaker_open' }, at).kind).toBe('retryLater');
    expect(decide({ stage: 'intake', cause: 'interrupted' }, at)).toEqual({
      kind: 'retryLater',
      delaySeconds: 0,
      cause: 'interrupted',
    });
  });

  it('does not count a failed breaker probe against the message', () => {
    const at = { ...base, receiveCount: 9, ownFailures: 9 };
    expect(decide({ stage: 'send', result: err('ServiceUnavailable', 503), probe: true }, at)).toMatchObject({
      kind: 'retryLater',
      cause: 'breaker_open',
    });
    // A probe answered with the message's own error is still that error.
    expect(decide({ stage: 'send', result: err('InvalidToken', 400), probe: true }, at)).toMatchObject({
      kind: 'deadLetter',
      reason: 'sfn_invalid_token',
    });
  });

  it('answers parse failures with the DLQ and done tokens as duplicates', () => {
    expect(decide({ stage: 'parse', reason: 'token_empty', detail: 'd' }, base)).toEqual({
      kind: 'deadLetter',
      reason: 'token_empty',
      detail: 'd',
    });
    expect(decide({ stage: 'dedup', claim: 'done', first: 'failure' }, base)).toEqual({
      kind: 'duplicate',
      first: 'failure',
    });
  });
});

describe('handBackDelay', () => {
  it('grows with the receive count, stays within [ceiling/2, ceiling] and under the cap', () => {
    const lo = { ...base, random: () => 0 };
    const hi = { ...base, random: () => 0.999999 };
    expect([1, 2, 3, 4].map((n) => handBackDelay({ ...lo, receiveCount: n }))).toEqual([1, 2, 4, 8]);
    expect([1, 2, 3, 4].map((n) => handBackDelay({ ...hi, receiveCount: n }))).toEqual([2, 4, 8, 16]);
    expect(handBackDelay({ ...hi, receiveCount: 40 })).toBe(300);
    expect(handBackDelay({ ...hi, receiveCount: 40 }, 30)).toBe(30);
  });
});

describe('isWholesaleFailure', () => {
  it('counts service-wide failures only', () => {
    expect(isWholesaleFailure(err('ThrottlingException', 400))).toBe(true);
    expect(isWholesaleFailure(err('ServiceUnavailable', 503))).toBe(true);
    expect(isWholesaleFailure(err('AccessDeniedException', 400))).toBe(true);
    expect(isWholesaleFailure(err('InvalidToken', 400))).toBe(false);
    expect(isWholesaleFailure(err('TaskTimedOut', 400))).toBe(false);
    expect(isWholesaleFailure(err('SomethingNew', 400))).toBe(false);
    expect(isWholesaleFailure({ ok: true, attempts: 1 })).toBe(false);
  });
});
