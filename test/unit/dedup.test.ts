/** One contract, three stores: in memory, Redis standalone and a Redis Cluster (real servers). */

import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { DoneTable } from '../../src/state/dedup/doneTable.js';
import { FallbackDedupStore } from '../../src/state/dedup/fallback.js';
import { MemoryDedupStore } from '../../src/state/dedup/memory.js';
import { RedisDedupStore } from '../../src/state/dedup/redis.js';
import type { DedupStore } from '../../src/state/dedup/store.js';
import { isConnectionError, redisErrorCode } from '../../src/state/redisErrors.js';
import { cleanup, uniquePrefix, useRedisAndCluster } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const { redis, cluster, prefix } = useRedisAndCluster();

const stores: [string, () => DedupStore][] = [
  ['memory', () => new MemoryDedupStore()],
  ['redis', () => new RedisDedupStore(redis, prefix)],
  ['redis cluster', () => new RedisDedupStore(cluster, prefix)],
];

describe.each(stores)('%s dedup store', (_name, make) => {
  it('lets one owner claim, answers others busy, then done after completion', async () => {
    const s = make();
    const h = `h-${Math.random()}`;
    expect(await s.claim(h, 'a', 10_000)).toBe('claimed');
    expect(await s.claim(h, 'b', 10_000)).toBe('busy');
    // The same owner may renew its claim (heartbeat).
    expect(await s.claim(h, 'a', 10_000)).toBe('claimed');
    await s.complete(h, 60_000, 'failure');
    expect(await s.claim(h, 'b', 10_000)).toEqual({ done: 'failure' });
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
    await s.complete(h, 60_000, 'failure');
    await s.renew(h, 'b', 10_000);
    expect(await s.claim(h, 'c', 10_000)).toEqual({ done: 'failure' });
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

  it('claims 10,000 tokens made in one tick (the script call is chunked, not one huge spread)', async () => {
    const s = new RedisDedupStore(redis, prefix, { readLegacyUntilMs: 0 });
    const h = `big-${Math.random()}`;
    const results = await Promise.all(Array.from({ length: 10_000 }, (_, i) => s.claim(`${h}-${i}`, 'a', 10_000)));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(10_000);
    expect(await s.claim(`${h}-9999`, 'b', 10_000)).toBe('busy');
  });

  it('keeps a record its full TTL in Redis when the completer’s clock runs 30 s behind', async () => {
    const own = uniquePrefix();
    // The true time (claimant's, Redis' within a minute) put where the slow clock's window ends
    // soonest: (done - 30 s + TTL) just before a 64 s window boundary.
    const now = Date.now();
    const real = now + 64_000 - ((now + 70_000) % 64_000) - 1;
    const slow = new RedisDedupStore(redis, own, { ttlMs: 100_000, now: () => real - 30_000 });
    await slow.complete('skewed', 100_000, 'failure');
    const [hash] = await redis.keys(`${own}d*`);
    expect(Number(await redis.call('PEXPIRETIME', String(hash)))).toBeGreaterThanOrEqual(real + 100_000);
    const claimant = new RedisDedupStore(redis, own, {
      ttlMs: 100_000,
      readLegacyUntilMs: 0,
      now: () => real + 99_000,
    });
    expect(await claimant.claim('skewed', 'b', 10_000)).toEqual({ done: 'failure' });
    await cleanup(redis, own);
  });
});

describe('redis cluster store', () => {
  it('claims a whole tick of tokens across slots without CROSSSLOT', async () => {
    await waitFor('the cluster client', () => cluster.status === 'ready');
    const s = new RedisDedupStore(cluster, prefix);
    const h = `h-${Math.random()}`;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => s.claim(`${h}-${i}`, 'a', 10_000)));
    expect(results).toEqual(Array.from({ length: 30 }, () => 'claimed'));
    expect(await Promise.all(Array.from({ length: 30 }, (_, i) => s.claim(`${h}-${i}`, 'b', 10_000)))).toEqual(
      Array.from({ length: 30 }, () => 'busy'),
    );
    await s.complete(`${h}-0`, 60_000, 'failure');
    expect(await s.recordFailure(`${h}-0`, 60_000)).toBe(1);
    expect(await s.claim(`${h}-0`, 'b', 10_000)).toEqual({ done: 'failure' });
  });
});

describe('memory store', () => {
  it('evicts the oldest done-records past its bound and sweeps expired ones', async () => {
    let now = 0;
    const s = new MemoryDedupStore({ now: () => now, maxEntries: 3 });
    for (const h of ['a', 'b', 'c', 'd']) await s.complete(h, 1000, 'failure');
    expect(s.size).toBe(3);
    // 'a' was evicted, so it can be claimed again; 'c' is still done.
    expect(await s.claim('a', 'x', 10)).toBe('claimed');
    expect(await s.claim('c', 'x', 10)).toEqual({ done: 'failure' });
    now = 5000;
    expect(s.sweep()).toBe(3);
    expect(s.size).toBe(0);
  });
});

describe('done table', () => {
  const hex = (i: number) => createHash('sha256').update(String(i)).digest('hex');

  it('agrees with a plain map under random writes, rewrites, expiry and eviction', () => {
    let now = 1_000_000;
    const max = 500;
    const table = new DoneTable(max, now);
    const reference = new Map<string, number>();
    let random = 42;
    const next = () => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random / 2 ** 31;
    };
    for (let step = 0; step < 20_000; step += 1) {
      const h = hex(Math.floor(next() * 2000));
      if (next() < 0.6) {
        const expiresAt = now + 60_000;
        table.add(h, expiresAt);
        expect(table.has(h, now), `step ${step}: has() right after add()`).toBe(true);
        reference.delete(h);
        reference.set(h, expiresAt);
        // The reference evicts by first write too (a rewrite moves a key to the end).
        while (reference.size > max) reference.delete(reference.keys().next().value as string);
      }
      if (next() < 0.05) now += Math.floor(next() * 30_000);
      if (next() < 0.1) table.sweep(now, 50);
      const probe = hex(Math.floor(next() * 2000));
      const live = (reference.get(probe) ?? 0) > now + 1000;
      const dead = (reference.get(probe) ?? 0) < now - 1000;
      if (live) expect(table.has(probe, now), `step ${step}`).toBe(true);
      if (dead || !reference.has(probe)) expect(table.has(probe, now), `step ${step}`).toBe(false);
      expect(table.size).toBeLessThanOrEqual(max);
    }
  });

  it('keeps a record re-added in the same second while under budget (its old ring entry is at the head)', () => {
    const now = 1_000_000;
    const table = new DoneTable(3, now);
    table.add(hex(1), now + 60_000);
    table.add(hex(2), now + 60_000);
    table.add(hex(2), now + 120_000);
    // Two records in a table of three: nothing may be evicted.
    table.add(hex(3), now + 120_000);
    table.add(hex(1), now + 60_000);
    expect(table.has(hex(1), now)).toBe(true);
    expect(table.has(hex(2), now)).toBe(true);
    expect(table.has(hex(3), now)).toBe(true);
    for (let i = 0; i < 50; i += 1) {
      table.add(hex(3), now + 200_000 + i * 1000);
      expect(table.has(hex(1), now), `rewrite ${i}`).toBe(true);
      expect(table.has(hex(3), now), `rewrite ${i}`).toBe(true);
    }
    // At the budget, the oldest write goes.
    table.add(hex(4), now + 60_000);
    table.add(hex(5), now + 60_000);
    expect(table.size).toBe(3);
    expect(table.has(hex(5), now)).toBe(true);
  });

  it('holds a million done-records in under 48 MiB, and expires them a little at a time', () => {
    const now = Date.now();
    const fill = () => {
      const table = new DoneTable(1_000_000, now);
      for (let i = 0; i < 1_000_000; i += 1) table.add(hex(i), now + 1000);
      return table;
    };
    const table = fill();
    expect(table.bytes / 1024 / 1024).toBeLessThan(48);
    expect(table.size).toBe(1_000_000);
    expect(table.has(hex(999_999), now)).toBe(true);
    let longest = 0;
    let calls = 0;
    for (let n = -1; n !== 0; calls += 1) {
      const t0 = performance.now();
      n = table.sweep(now + 2000);
      longest = Math.max(longest, performance.now() - t0);
      expect(n).toBeLessThanOrEqual(2000);
    }
    expect(table.size).toBe(0);
    expect(calls).toBeGreaterThanOrEqual(500);
    // Compared in one run (the machine is noisy): one call of the incremental sweep against all of
    // it at once, which is what a full scan would block the event loop for.
    const once = fill();
    const t0 = performance.now();
    once.sweep(now + 2000, Number.POSITIVE_INFINITY);
    const all = performance.now() - t0;
    expect(once.size).toBe(0);
    expect(longest).toBeLessThan(all / 20);
  }, 60_000);
});

describe('fallback store', () => {
  function failing(state: { healthy: boolean; error: Error }, primary: MemoryDedupStore): DedupStore {
    const or = <T>(f: () => Promise<T>) => (state.healthy ? f() : Promise.reject(state.error));
    return {
      kind: 'redis',
      claim: (...a) => or(() => primary.claim(...a)),
      complete: (...a) => or(() => primary.complete(...a)),
      release: (...a) => or(() => primary.release(...a)),
      renew: (...a) => or(() => primary.renew(...a)),
      recordFailure: (...a) => or(() => primary.recordFailure(...a)),
      heartbeat: (...a) => or(() => primary.heartbeat(...a)),
      restartHeartbeat: (...a) => or(() => primary.restartHeartbeat(...a)),
      reopenHeartbeat: (...a) => or(() => primary.reopenHeartbeat(...a)),
      close: async () => undefined,
    };
  }

  it('answers from memory while the primary is unreachable, and returns only after several answered probes', async () => {
    const state = { healthy: false, error: new Error('Connection is closed.') };
    const primary = new MemoryDedupStore();
    const changes: string[] = [];
    let probes = 0;
    const s = new FallbackDedupStore(failing(state, primary), new MemoryDedupStore(), {
      probe: () => {
        probes += 1;
        return state.healthy ? Promise.resolve() : Promise.reject(new Error('down'));
      },
      probeIntervalMs: 20,
      probesToRecover: 3,
      minDegradedMs: 100,
      degradeAfterMs: 0,
      isConnectionError,
      logger: createLogger('silent'),
      onChange: (k) => changes.push(k),
    });
    expect(await s.claim('h', 'a', 10_000)).toBe('claimed');
    expect(s.kind).toBe('memory');
    expect(await s.claim('h', 'b', 10_000)).toBe('busy');
    // A link that flaps (up for one probe, down again) does not switch back.
    state.healthy = true;
    await waitFor('one answered probe', () => probes >= 1);
    state.healthy = false;
    const flapAt = probes;
    await waitFor('a few more probes', () => probes >= flapAt + 3);
    expect(s.kind).toBe('memory');
    state.healthy = true;
    await waitFor('the store to recover', () => s.kind === 'redis', { timeoutMs: 2000 });
    expect(changes).toEqual(['memory', 'redis']);
    expect(s.switches).toBe(2);
    expect(await s.claim('h2', 'a', 10_000)).toBe('claimed');
    expect(await primary.claim('h2', 'b', 10_000)).toBe('busy');
    await s.close();
  });

  it('waits out a short blip (a failover) instead of switching: the operations fail until the grace is over', async () => {
    const state = { healthy: false, error: new Error('CLUSTERDOWN The cluster is down') };
    let now = 0;
    const s = new FallbackDedupStore(failing(state, new MemoryDedupStore()), new MemoryDedupStore(), {
      probe: () => Promise.resolve(),
      probeIntervalMs: 20,
      degradeAfterMs: 3000,
      isConnectionError,
      logger: createLogger('silent'),
      now: () => now,
    });
    await expect(s.claim('h', 'a', 10_000)).rejects.toThrow(/CLUSTERDOWN/);
    now = 2999;
    await expect(s.claim('h', 'a', 10_000)).rejects.toThrow(/CLUSTERDOWN/);
    expect(s.kind).toBe('redis');
    // Redis answers within the grace: the count starts over.
    state.healthy = true;
    expect(await s.claim('h', 'a', 10_000)).toBe('claimed');
    state.healthy = false;
    now = 4000;
    await expect(s.claim('h2', 'a', 10_000)).rejects.toThrow(/CLUSTERDOWN/);
    // Still failing 3 s later: now the in-process store answers.
    now = 7000;
    expect(await s.claim('h2', 'a', 10_000)).toBe('claimed');
    expect(s.kind).toBe('memory');
    await s.close();
  });

  it('gives a later blip its full grace: one failure, a quiet queue (Redis answers probes), then a new failure', async () => {
    const state = { healthy: false, error: new Error('Connection is closed.') };
    let now = 0;
    let probes = 0;
    const s = new FallbackDedupStore(failing(state, new MemoryDedupStore()), new MemoryDedupStore(), {
      probe: () => {
        probes += 1;
        return Promise.resolve();
      },
      probeIntervalMs: 10,
      degradeAfterMs: 5000,
      isConnectionError,
      logger: createLogger('silent'),
      now: () => now,
    });
    await expect(s.claim('h', 'a', 10_000)).rejects.toThrow(/closed/);
    // The queue goes quiet; Redis answers the probes.
    await waitFor('a probe to answer', () => probes >= 1, { timeoutMs: 2000 });
    now = 60_000;
    // An unrelated blip a minute later: its first failure is the start of a new run, inside the grace.
    await expect(s.claim('h2', 'a', 10_000)).rejects.toThrow(/closed/);
    expect(s.kind).toBe('redis');
    now = 66_000;
    expect(await s.claim('h2', 'a', 10_000)).toBe('claimed');
    await s.close();
  });

  it('ends a run of failures only by a successful operation: PING answers while operations fail READONLY', async () => {
    const state = { healthy: false, error: new Error("READONLY You can't write against a read only replica.") };
    let now = 0;
    let probes = 0;
    const s = new FallbackDedupStore(failing(state, new MemoryDedupStore()), new MemoryDedupStore(), {
      probe: () => {
        probes += 1;
        return Promise.resolve('PONG');
      },
      probeIntervalMs: 5,
      degradeAfterMs: 5000,
      isConnectionError,
      logger: createLogger('silent'),
      now: () => now,
    });
    // A claim fails every 300 ms; the probes between them answer.
    for (; now < 5000; now += 300) {
      await expect(s.claim(`h${now}`, 'a', 10_000)).rejects.toThrow(/READONLY/);
      const seen = probes;
      await waitFor('a probe to answer', () => probes > seen, { timeoutMs: 2000 });
    }
    expect(await s.claim('h-last', 'a', 10_000)).toBe('claimed');
    expect(s.kind).toBe('memory');
    await s.close();
  });

  it('gives a later blip its full grace when the probe is refused NOPERM (an ACL user without PING)', async () => {
    const state = { healthy: false, error: new Error('Connection is closed.') };
    const noperm = Object.assign(new Error("NOPERM this user has no permissions to run the 'ping' command"), {
      name: 'ReplyError',
    });
    let now = 0;
    let probes = 0;
    const s = new FallbackDedupStore(failing(state, new MemoryDedupStore()), new MemoryDedupStore(), {
      probe: () => {
        probes += 1;
        return Promise.reject(noperm);
      },
      probeIntervalMs: 5,
      degradeAfterMs: 5000,
      isConnectionError,
      logger: createLogger('silent'),
      now: () => now,
    });
    await expect(s.claim('a', 'o', 10_000)).rejects.toThrow(/closed/);
    // A quiet hour: the probes are refused NOPERM, which still says Redis is reachable.
    await waitFor('a probe', () => probes >= 1, { timeoutMs: 2000 });
    now = 3_600_000;
    await expect(s.claim('b', 'o', 10_000)).rejects.toThrow(/closed/);
    expect(s.degraded).toBe(false);
    now += 5000;
    expect(await s.claim('b', 'o', 10_000)).toBe('claimed');
    expect(s.degraded).toBe(true);
    await s.close();
  });

  it('does not fall back for a command error: it reports it and fails the operation', async () => {
    const state = {
      healthy: false,
      error: Object.assign(new Error("CROSSSLOT Keys in request don't hash to the same slot"), { name: 'ReplyError' }),
    };
    const reported: unknown[] = [];
    const s = new FallbackDedupStore(failing(state, new MemoryDedupStore()), new MemoryDedupStore(), {
      probe: () => Promise.resolve(),
      probeIntervalMs: 20,
      isConnectionError,
      onCommandError: (err) => reported.push(err),
      logger: createLogger('silent'),
    });
    await expect(s.claim('h', 'a', 10_000)).rejects.toThrow(/CROSSSLOT/);
    expect(s.kind).toBe('redis');
    expect(s.degraded).toBe(false);
    expect(reported).toHaveLength(1);
    await s.close();
  });
});

describe('redis errors', () => {
  it('tell a connection failure from a command error', () => {
    const e = (message: string, extra: object = {}) => Object.assign(new Error(message), extra);
    for (const down of [
      e('Connection is closed.'),
      e("Stream isn't writeable and enableOfflineQueue options is false"),
      e('Command timed out'),
      e('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }),
      e('CLUSTERDOWN The cluster is down'),
      e('Failed to refresh slots cache.', { name: 'ClusterAllFailedError' }),
      e('Reached the max retries per request limit (which is 1).', { name: 'MaxRetriesPerRequestError' }),
      e("READONLY You can't write against a read only replica."),
    ]) {
      expect(isConnectionError(down), down.message).toBe(true);
    }
    for (const wrong of [
      "CROSSSLOT Keys in request don't hash to the same slot",
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'MOVED 1234 127.0.0.1:7001',
      'NOPERM this user has no permissions to run the script command',
      'NOSCRIPT No matching script. Please use EVAL.',
    ]) {
      expect(isConnectionError(e(wrong)), wrong).toBe(false);
    }
    expect(redisErrorCode(e('CROSSSLOT Keys in request'))).toBe('CROSSSLOT');
  });
});
