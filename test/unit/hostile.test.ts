import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/core/event.js';
import type { CallbackKind } from '../../src/core/kinds.js';
import { HOSTILE, HOSTILE_CALLBACK_KINDS, HOSTILE_MAX_BODY_BYTES } from '../fixtures/hostile.js';

const limits = {
  maxBodyBytes: HOSTILE_MAX_BODY_BYTES,
  overlongText: 'truncate' as const,
  kinds: new Set(HOSTILE_CALLBACK_KINDS.split(',') as CallbackKind[]),
};

describe('hostile corpus', () => {
  it('has at least 50 bodies with distinct names', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(50);
    expect(new Set(HOSTILE.map((h) => h.name)).size).toBe(HOSTILE.length);
  });

  it.each(HOSTILE.map((h) => [h.name, h] as const))('%s → its reason', (_name, h) => {
    const r = parseEvent(h.body, limits);
    if (h.reason.startsWith('sfn_')) {
      // Valid to the validator; Step Functions rejects the token (tested end to end).
      expect(r.ok).toBe(true);
    } else {
      expect(r.ok ? 'valid' : r.reason).toBe(h.reason);
      // The detail is specific (names the field or the problem) and never echoes the body.
      expect(!r.ok && r.detail.length).toBeGreaterThan(8);
    }
  });

  it('parses the whole corpus quickly (hostile input does not slow the relay)', () => {
    const started = performance.now();
    for (let i = 0; i < 10; i += 1) for (const h of HOSTILE) parseEvent(h.body, limits);
    const perBody = (performance.now() - started) / (10 * HOSTILE.length);
    expect(perBody).toBeLessThan(5);
  });
});
