/** The Redis dedup layout: a claim always looks in the hash its token's record went into. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MARGIN_MS, RedisKeys, windowLog2 } from '../../src/state/dedup/redisKeys.js';

const DAY = 86_400_000;
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);

describe('redis keys', () => {
  it('sizes the window as the smallest power of two seconds at or above TTL/16 (at least 64 s)', () => {
    expect(2 ** windowLog2(DAY)).toBe(8192);
    expect(2 ** windowLog2(60_000)).toBe(64);
    expect(2 ** windowLog2(7 * DAY)).toBe(65_536);
    expect(new RedisKeys('p:', DAY).lookups).toBe(14);
  });

  it(`finds a record from any time within its TTL, also written by a replica whose clock runs ahead (seed ${seed})`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 31_622_400 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
        (ttlS, ttlShare, laterShare, skewShare, doneAt) => {
          const keys = new RedisKeys('p:', ttlS * 1000);
          const ttl = Math.max(1, Math.floor(ttlS * 1000 * ttlShare));
          const skew = Math.floor(skewShare * 2 ** windowLog2(ttlS * 1000) * 1000);
          const written = keys.doneHash('{1}', doneAt + skew, ttl);
          const claimAt = doneAt + Math.floor(ttl * laterShare);
          // Still there at the claim (it expires at its window's end, after the record's expiry)…
          expect(written.expiresAtMs).toBeGreaterThan(claimAt);
          // …and among the hashes the claim looks in.
          expect(keys.doneHashes('{1}', claimAt)).toContain(written.key);
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it(`keeps a record its full TTL when the completer's clock runs behind by up to the skew margin (seed ${seed})`, () => {
    // The review's case: TTL 100 s, the completer 30 s slow; the record was forgotten after ~70–91 s.
    const keys = new RedisKeys('p:', 100_000);
    const doneAt = 1_700_000_000_000;
    const written = keys.doneHash('{1}', doneAt - 30_000, 100_000);
    expect(written.expiresAtMs).toBeGreaterThanOrEqual(doneAt + 100_000);
    expect(keys.doneHashes('{1}', doneAt + 99_999)).toContain(written.key);
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 31_622_400 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: CLOCK_SKEW_MARGIN_MS }),
        fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
        (ttlS, ttlShare, laterShare, behind, realDoneAt) => {
          const k = new RedisKeys('p:', ttlS * 1000);
          const ttl = Math.max(1, Math.floor(ttlS * 1000 * ttlShare));
          // The completer's injected clock reads `behind` ms less than the claimant's (and Redis').
          const w = k.doneHash('{1}', realDoneAt - behind, ttl);
          const claimAt = realDoneAt + Math.min(ttl - 1, Math.floor(ttl * laterShare));
          expect(w.expiresAtMs).toBeGreaterThan(claimAt);
          expect(k.doneHashes('{1}', claimAt)).toContain(w.key);
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it('keeps 96 bits, a 14-bit shard as the hash tag for every key of a token, and the old key as it was', () => {
    const keys = new RedisKeys('sfn-relay:', DAY);
    const hash = createHash('sha256').update('a token').digest('hex');
    const k = keys.token(hash);
    expect(Buffer.from(k.field, 'base64url')).toEqual(Buffer.from(hash, 'hex').subarray(0, 12));
    expect(Number.parseInt(k.tag.slice(1, -1), 16)).toBe(Number.parseInt(hash.slice(0, 4), 16) >> 2);
    for (const key of [k.claim, k.failures, ...keys.doneHashes(k.tag, Date.now())]) expect(key).toContain(k.tag);
    expect(k.legacy).toBe(`sfn-relay:tok:{${hash}}`);
    // Tags spread: 20,000 tokens use thousands of shards.
    const tags = new Set(Array.from({ length: 20_000 }, (_, i) => keys.token(`t${i}`).tag));
    expect(tags.size).toBeGreaterThan(11_000);
  });
});
