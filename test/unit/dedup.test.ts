/** One contract, two stores: the in-memory one and the Redis one (against the real server). */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FallbackDedupStore } from '../../src/dedup/fallback.js';
import { MemoryDedupStore } from '../../src/dedup/memory.js';
import { RedisDedupStore } from '../../src/dedup/redis.js';
import type { DedupStore } from '../../src/dedup/store.js';
import { createLogger } from '../../src/log.js';
import { cleanup, testRedis, uniquePrefix } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const redis = testRedis();
const prefix = uniquePrefix();
afterAll(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

const stores: [string, () => DedupStore][] = [
  ['memory', () => new MemoryDedupStore()],
  ['redis', () => new RedisDedupStore(redis, prefix)],
];

describe.each(stores)('%s dedup store', (_name, make) => {
  it('lets one owner claim, answers others busy, then done after completion', async () => {
    const s = make();
    const h = `h-${Math.random()}`;
    expect(await s.claim(h, 'a', 10_000)).toBe('claimed');
    expect(await s.claim(h, 'b', 10_000)).toBe('busy');
    // The same owner may renew its claim (heartbeat).
    expect(await s.claim(h, 'a', 10_000)).toBe('claimed');
    await s.complete(h, 60_000);
    expect(await s.claim(h, 'b', 10_000)).toBe('done');
  });

  it('frees a released claim, but only for its owner', async () => {
    const s = make();
    const h = `h-${Math.random()}`;
    expect(await s.claim(h, 'a', 10_000)).toBe('claimed');
    await s.release(h, 'b');
    expect(await s.claim(h, 'b', 10_000)).toBe('busy');
    await s.release(h, 'a');
    expect(await s.claim(h, 'b', 10_000)).toBe('claimed');
  });

  it('lets a claim expire with its lease (a crashed holder blocks nobody for long)', async () => {
    const s = make();
    const h = `h-${Math.random()}`;
    expect(await s.claim(h, 'a', 150)).toBe('claimed');
    await waitFor('the lease to expire', async () => (await s.claim(h, 'b', 10_000)) === 'claimed', {
      timeoutMs: 3000,
    });
  });
});

describe.each(stores)('%s dedup store, heartbeat and failure counts', (_name, make) => {
  it('renews a claim only while its owner holds it: a late renewal never recreates a released claim', async () => {
    const s = make();
    const h = `h-${Math.random()}`;
    expect(await s.claim(h, 'a', 300)).toBe('claimed');
    await s.renew(h, 'a', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await s.claim(h, 'b', 10_000)).toBe('busy');
    await s.release(h, 'a');
    // The heartbeat's renewal lands after the release: nothing comes back.
    await s.renew(h, 'a', 10_000);
    expect(await s.claim(h, 'b', 10_000)).toBe('claimed');
    // Another owner's renewal does not extend b's claim, and completion is not undone either.
    await s.complete(h, 60_000);
    await s.renew(h, 'b', 10_000);
    expect(await s.claim(h, 'c', 10_000)).toBe('done');
  });

  it('counts a token’s own failures until they expire', async () => {
    const s = make();
    const h = `h-${Math.random()}`;
    expect(await s.recordFailure(h, 300)).toBe(1);
    expect(await s.recordFailure(h, 300)).toBe(2);
    expect(await s.recordFailure(`${h}-other`, 300)).toBe(1);
    await waitFor('the count to expire', async () => (await s.recordFailure(h, 300)) === 1, {
      timeoutMs: 5000,
      intervalMs: 500,
    });
  });
});

describe('redis store', () => {
  it('sends the claims of one tick as one script call, in order', async () => {
    const s = new RedisDedupStore(redis, prefix);
    const calls = vi.spyOn(redis as unknown as { relayClaim: () => Promise<string[]> }, 'relayClaim');
    const h = `h-${Math.random()}`;
    const results = await Promise.all([
      s.claim(h, 'a', 10_000),
      s.claim(h, 'b', 10_000),
      ...Array.from({ length: 8 }, (_, i) => s.claim(`${h}-${i}`, 'a', 10_000)),
    ]);
    expect(results).toEqual(['claimed', 'busy', ...Array.from({ length: 8 }, () => 'claimed')]);
    expect(calls).toHaveBeenCalledTimes(1);
    calls.mockRestore();
  });
});

describe('memory store', () => {
  it('evicts the oldest entries past its bound and sweeps expired ones', async () => {
    let now = 0;
    const s = new MemoryDedupStore({ now: () => now, maxEntries: 3 });
    for (const h of ['a', 'b', 'c', 'd']) await s.complete(h, 1000);
    expect(s.size).toBe(3);
    // 'a' was evicted, so it can be claimed again (which evicts 'b').
    expect(await s.claim('a', 'x', 10)).toBe('claimed');
    expect(await s.claim('c', 'x', 10)).toBe('done');
    now = 5000;
    expect(s.sweep()).toBe(3);
    expect(s.size).toBe(0);
  });
});

describe('fallback store', () => {
  it('answers from memory while the primary fails and returns to it when the probe succeeds', async () => {
    let healthy = false;
    const primary = new MemoryDedupStore();
    const failing: DedupStore = {
      kind: 'redis',
      claim: (...a) => (healthy ? primary.claim(...a) : Promise.reject(new Error('down'))),
      complete: (...a) => (healthy ? primary.complete(...a) : Promise.reject(new Error('down'))),
      release: (...a) => (healthy ? primary.release(...a) : Promise.reject(new Error('down'))),
      renew: (...a) => (healthy ? primary.renew(...a) : Promise.reject(new Error('down'))),
      recordFailure: (...a) => (healthy ? primary.recordFailure(...a) : Promise.reject(new Error('down'))),
      close: async () => undefined,
    };
    const changes: string[] = [];
    const s = new FallbackDedupStore(failing, new MemoryDedupStore(), {
      probe: () => (healthy ? Promise.resolve() : Promise.reject(new Error('down'))),
      probeIntervalMs: 20,
      logger: createLogger('silent'),
      onChange: (k) => changes.push(k),
    });
    expect(await s.claim('h', 'a', 10_000)).toBe('claimed');
    expect(s.kind).toBe('memory');
    expect(await s.claim('h', 'b', 10_000)).toBe('busy');
    healthy = true;
    await waitFor('the store to recover', () => s.kind === 'redis', { timeoutMs: 2000 });
    expect(changes).toEqual(['memory', 'redis']);
    expect(await s.claim('h2', 'a', 10_000)).toBe('claimed');
    expect(await primary.claim('h2', 'b', 10_000)).toBe('busy');
    await s.close();
  });
});
