/** Reading the eviction policy: CONFIG GET answers are parsed strictly, and a refusal says what it was. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/state/redis.js';
import { readEviction } from '../../src/state/redisEviction.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);

/** A standalone server whose CONFIG GET answers (or throws) what the test says. */
function server(answers: Record<string, unknown>, error?: Error): RedisClient {
  const config = async (_op: 'GET', name: string) => {
    if (error) throw error;
    return answers[name];
  };
  return { isCluster: false, config } as unknown as RedisClient;
}

const sane = { 'maxmemory-policy': ['maxmemory-policy', 'noeviction'], maxmemory: ['maxmemory', '67108864'] };

describe('eviction policy from CONFIG GET', () => {
  it('reads the usual answers', async () => {
    expect(await readEviction(server(sane))).toMatchObject({ policy: 'noeviction', verdict: 'keeps' });
    const none = { ...sane, maxmemory: ['maxmemory', '0'] };
    expect(await readEviction(server(none))).toMatchObject({ verdict: 'unbounded' });
    const lru = { ...sane, 'maxmemory-policy': ['maxmemory-policy', 'allkeys-lru'] };
    expect(await readEviction(server(lru))).toMatchObject({ policy: 'allkeys-lru', verdict: 'evicts' });
  });

  it('says unknown, quoting what it saw, for an odd shape instead of guessing', async () => {
    const emptyMax = await readEviction(server({ ...sane, maxmemory: [] }));
    expect(emptyMax).toMatchObject({ verdict: 'unknown' });
    expect(emptyMax.meaning).toContain('maxmemory: []');
    const triple = await readEviction(server({ ...sane, 'maxmemory-policy': [1, 2, 3] }));
    expect(triple).toMatchObject({ verdict: 'unknown', policy: undefined });
    expect(triple.meaning).toContain('maxmemory-policy: [1,2,3]');
  });

  it(`is unknown for any answer but [name, value] of the right form (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (odd) => {
        fc.pre(!(Array.isArray(odd) && odd.length === 2 && odd[0] === 'maxmemory'));
        expect((await readEviction(server({ ...sane, maxmemory: odd }))).verdict).toBe('unknown');
      }),
      { seed, numRuns: 300 },
    );
  });

  it('words an ACL refusal as a refusal, with its code and where to look', async () => {
    const noperm = Object.assign(new Error("NOPERM this user has no permissions to run the 'config|get' command"), {
      name: 'ReplyError',
    });
    const r = await readEviction(server({}, noperm));
    expect(r.verdict).toBe('unknown');
    expect(r.meaning).toMatch(
      /^CONFIG refused \(NOPERM\): on ElastiCache CONFIG is not allowed; check the parameter group's maxmemory-policy/,
    );
    expect(r.meaning).not.toContain('(ElastiCache)');
  });
});
