/** decide() for the three callback kinds: what differs (the outcome of an accepted call) and what does not. */
import { describe, expect, it } from 'vitest';
import type { SendResult } from '../../src/aws/stepFunctions.js';
import { CALLBACK_KINDS, DONE_KINDS, KIND_RULES } from '../../src/core/kinds.js';
import { decide, redriveHopeless } from '../../src/core/outcome.js';
import { FATE, sendError } from '../support/fate.js';

const err = sendError;

describe('decide, per callback kind', () => {
  it('answers an accepted call by kind: failed, succeeded, heartbeatSent', () => {
    const ok: SendResult = { ok: true, attempts: 1 };
    expect(decide({ stage: 'send', result: ok, kind: 'failure' }, FATE)).toEqual({ kind: 'failed' });
    expect(decide({ stage: 'send', result: ok, kind: 'success' }, FATE)).toEqual({ kind: 'succeeded' });
    expect(decide({ stage: 'send', result: ok, kind: 'heartbeat' }, FATE)).toEqual({ kind: 'heartbeatSent' });
    // Evidence without a kind is a failure's (callers of before kinds).
    expect(decide({ stage: 'send', result: ok }, FATE)).toEqual({ kind: 'failed' });
  });

  it.each(CALLBACK_KINDS)(
    'classes every error alike for a %s (TaskTimedOut closes, retries end in retries_exhausted)',
    (kind) => {
      const send = (r: SendResult, f = FATE) => decide({ stage: 'send', result: r, kind }, f);
      expect(send(err('TaskTimedOut', 400))).toEqual({ kind: 'alreadyClosed' });
      expect(send(err('InvalidToken', 400))).toMatchObject({ kind: 'deadLetter', reason: 'sfn_invalid_token' });
      expect(send(err('ThrottlingException', 400))).toMatchObject({ kind: 'retryLater', cause: 'throttled' });
      expect(send(err('ServiceUnavailable', 503), { ...FATE, ownFailures: 5 })).toMatchObject({
        kind: 'deadLetter',
        reason: 'retries_exhausted',
      });
    },
  );

  it('says which kind came first for a duplicate, and deletes a coalesced heartbeat', () => {
    for (const first of DONE_KINDS) {
      expect(decide({ stage: 'dedup', claim: 'done', first }, FATE)).toEqual({ kind: 'duplicate', first });
    }
    expect(decide({ stage: 'dedup', claim: 'coalesced' }, FATE)).toEqual({ kind: 'heartbeatCoalesced' });
  });

  it('keeps the per-kind differences in one table: heartbeats alone are not terminal and take their own limiter', () => {
    expect(CALLBACK_KINDS.filter((k) => !KIND_RULES[k].terminal)).toEqual(['heartbeat']);
    expect(CALLBACK_KINDS.filter((k) => KIND_RULES[k].limiter === 'heartbeat')).toEqual(['heartbeat']);
    expect(CALLBACK_KINDS.map((k) => KIND_RULES[k].operation)).toEqual([
      'SendTaskFailure',
      'SendTaskSuccess',
      'SendTaskHeartbeat',
    ]);
  });

  it('tells a redrive which new reasons can pass again', () => {
    expect(redriveHopeless('kind_not_enabled')).toBeUndefined();
    expect(redriveHopeless('output_not_json')).toMatch(/body itself is invalid/);
    expect(redriveHopeless('kind_conflict')).toMatch(/body itself is invalid/);
  });
});
