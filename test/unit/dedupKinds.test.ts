/**
 * The dedup stores for callback kinds: the done record keeps which terminal kind closed the token
 * (the first wins), an older version's record reads as unknown, and the heartbeat gate lets one
 * heartbeat per token per interval through — in memory, Redis standalone and a Redis Cluster.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { bytesPerEntry, DoneTable } from '../../src/state/dedup/doneTable.js';
import { FallbackDedupStore } from '../../src/state/dedup/fallback.js';
import { MAX_HEARTBEAT_GATES, MemoryDedupStore } from '../../src/state/dedup/memory.js';
import { RedisDedupStore } from '../../src/state/dedup/redis.js';
import { RedisKeys } from '../../src/state/dedup/redisKeys.js';
import type { DedupStore } from '../../src/state/dedup/store.js';
import { useRedisAndCluster } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const { redis, cluster, prefix } = useRedisAndCluster();

const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const fresh = () => hex(`token ${Math.random()}`);

const stores: [string, () => DedupStore][] = [
  ['memory', () => new MemoryDedupStore()],
  ['redis', () => new RedisDedupStore(redis, prefix)],
  ['redis cluster', () => new RedisDedupStore(cluster, prefix)],
  [
    'fallback (redis answering)',
    () =>
      new FallbackDedupStore(new RedisDedupStore(redis, prefix), new MemoryDedupStore(), {
        probe: () => redis.ping(),
        probeIntervalMs: 1000,
        isConnectionError: () => true,
        logger: createLogger('silent'),
      }),
  ],
];

describe.each(stores)('%s store, callback kinds', (_name, make) => {
  it('answers done with the kind that closed the token; the first terminal kind wins', async () => {
    const s = make();
    const [a, b, c] = [fresh(), fresh(), fresh()];
    await s.complete(a, 60_000, 'success');
    await s.complete(b, 60_000, 'failure');
    await s.complete(c, 60_000, 'unknown');
    expect(await s.claim(a, 'x', 10_000)).toEqual({ done: 'success' });
    expect(await s.claim(b, 'x', 10_000)).toEqual({ done: 'failure' });
    expect(await s.claim(c, 'x', 10_000)).toEqual({ done: 'unknown' });
    // A second record for a token keeps the first kind.
    await s.complete(a, 60_000, 'failure');
    expect(await s.claim(a, 'x', 10_000)).toEqual({ done: 'success' });
  });

  it('lets a definite kind replace unknown, and never unknown a definite kind', async () => {
    const s = make();
    const [a, b] = [fresh(), fresh()];
    // A heartbeat answered TaskTimedOut records unknown while a success is in flight; the success's
    // later completion says what closed the token.
    await s.complete(a, 60_000, 'unknown');
    await s.complete(a, 60_000, 'success');
    expect(await s.claim(a, 'x', 10_000)).toEqual({ done: 'success' });
    await s.complete(b, 60_000, 'failure');
    await s.complete(b, 60_000, 'unknown');
    expect(await s.claim(b, 'x', 10_000)).toEqual({ done: 'failure' });
    expect(await s.heartbeat(b, 'x', 10_000)).toEqual({ done: 'failure' });
  });

  it('lets one heartbeat per token per interval through, none once the token is done', async () => {
    const s = make();
    const h = fresh();
    expect(await s.heartbeat(h, 'a', 300)).toBe('send');
    expect(await s.heartbeat(h, 'b', 300)).toBe('coalesced');
    expect(await s.heartbeat(fresh(), 'b', 300)).toBe('send');
    // A heartbeat neither claims nor blocks the token's terminal callback.
    expect(await s.claim(h, 'c', 10_000)).toBe('claimed');
    await waitFor('the interval to pass', async () => (await s.heartbeat(h, 'd', 300)) === 'send', {
      timeoutMs: 5000,
    });
    await s.complete(h, 60_000, 'failure');
    expect(await s.heartbeat(h, 'e', 300)).toEqual({ done: 'failure' });
  });

  it('reopens the gate for its owner only (a heartbeat that was not delivered goes again)', async () => {
    const s = make();
    const h = fresh();
    expect(await s.heartbeat(h, 'a', 60_000)).toBe('send');
    await s.reopenHeartbeat(h, 'b');
    expect(await s.heartbeat(h, 'b', 60_000)).toBe('coalesced');
    await s.reopenHeartbeat(h, 'a');
    expect(await s.heartbeat(h, 'b', 60_000)).toBe('send');
  });

  it('restarts the gate’s interval as the call starts, for its owner or once expired; never another’s', async () => {
    const s = make();
    const h = fresh();
    const start = Date.now();
    expect(await s.heartbeat(h, 'a', 200)).toBe('send');
    expect(await s.restartHeartbeat(h, 'a', 60_000)).toBe(true);
    await waitFor('the first interval to pass', () => Date.now() > start + 400, { timeoutMs: 5000, intervalMs: 20 });
    expect(await s.heartbeat(h, 'b', 60_000)).toBe('coalesced');
    expect(await s.restartHeartbeat(h, 'b', 1)).toBe(false);
    expect(await s.heartbeat(h, 'c', 60_000)).toBe('coalesced');
    // Expired meanwhile (a long wait in the limiter) and free: taken again for the call.
    const g = fresh();
    const taken = Date.now();
    expect(await s.heartbeat(g, 'a', 1)).toBe('send');
    await waitFor('the gate to expire', () => Date.now() > taken + 20, { intervalMs: 10 });
    expect(await s.restartHeartbeat(g, 'a', 60_000)).toBe(true);
    expect(await s.heartbeat(g, 'b', 60_000)).toBe('coalesced');
  });
});

describe('Redis done records of an older version', () => {
  it.each([
    ['standalone', () => redis],
    ['cluster', () => cluster],
  ])('reads a field value of 1 (%s) as done by an unknown kind, for claims and heartbeats', async (_name, client) => {
    const ttlMs = 86_400_000;
    const keys = new RedisKeys(prefix, ttlMs);
    const h = fresh();
    const k = keys.token(h);
    const target = keys.doneHash(k.tag, Date.now(), ttlMs);
    await client().hset(target.key, k.field, '1');
    await client().pexpireat(target.key, target.expiresAtMs);
    const s = new RedisDedupStore(client(), prefix, { ttlMs });
    expect(await s.claim(h, 'x', 10_000)).toEqual({ done: 'unknown' });
    expect(await s.heartbeat(h, 'x', 10_000)).toEqual({ done: 'unknown' });
    // The kind costs no byte: one character, as the `1` before it.
    await s.complete(fresh(), ttlMs, 'success');
    const values = await client().hvals(target.key);
    expect(values.every((v) => v.length === 1)).toBe(true);
  });
});

describe('memory store, heartbeat gates', () => {
  it(`holds at most ${MAX_HEARTBEAT_GATES} gates (oldest first, evictions counted) and sweeps expired ones`, async () => {
    let now = 0;
    let evicted = 0;
    const s = new MemoryDedupStore({
      now: () => now,
      maxEntries: 10,
      onHeartbeatGatesEvicted: (n) => {
        evicted += n;
      },
    });
    expect(MAX_HEARTBEAT_GATES).toBeLessThanOrEqual(20_000);
    for (let i = 0; i < MAX_HEARTBEAT_GATES + 5; i += 1) await s.heartbeat(`t${i}`, 'o', 10_000);
    expect(s.heartbeatGates).toBe(MAX_HEARTBEAT_GATES);
    expect(evicted).toBe(5);
    // The oldest went first: its token's next heartbeat goes through.
    expect(await s.heartbeat('t0', 'o', 10_000)).toBe('send');
    expect(await s.heartbeat(`t${MAX_HEARTBEAT_GATES + 4}`, 'o', 10_000)).toBe('coalesced');
    now = 20_000;
    s.sweep();
    expect(s.heartbeatGates).toBe(0);
  });
});

describe('done table, kind bits', () => {
  it('keeps the kind in two bits of the key: no byte more per record', () => {
    // 94 key bits + 2 kind bits in the same three words as the 96-bit keys before.
    expect(bytesPerEntry()).toBeCloseTo(36.67, 1);
    const now = Date.now();
    const t = new DoneTable(1000, now);
    // Records that expire first (done records share one TTL: the ring is in expiry order).
    for (let i = 0; i < 900; i += 1) t.add(hex(`fill ${i}`), now + 1000, i % 2 === 0 ? 'success' : 'failure');
    t.add(hex('a'), now + 60_000, 'success');
    t.add(hex('b'), now + 60_000, 'failure');
    t.add(hex('c'), now + 60_000, 'unknown');
    expect([t.get(hex('a'), now), t.get(hex('b'), now), t.get(hex('c'), now), t.get(hex('d'), now)]).toEqual([
      'success',
      'failure',
      'unknown',
      undefined,
    ]);
    // A rewrite extends the record and keeps its kind; the kind survives the entries moving on deletion.
    t.add(hex('a'), now + 120_000, 'failure');
    expect(t.get(hex('a'), now + 90_000)).toBe('success');
    t.sweep(now + 5000, Number.POSITIVE_INFINITY);
    expect(t.get(hex('a'), now + 5000)).toBe('success');
    expect(t.get(hex('b'), now + 5000)).toBe('failure');
    expect(t.get(hex('c'), now + 5000)).toBe('unknown');
    expect(t.size).toBe(3);
  });

  it('tells apart keys that differ only in the bits the kind took (the key is 94 bits)', () => {
    const now = Date.now();
    const t = new DoneTable(100, now);
    const base = hex('x');
    // Same first 94 bits: the same record (the 2-bit difference is where the kind lives).
    const twin = `${base.slice(0, 16)}${((Number.parseInt(base.slice(16, 24), 16) ^ 0xc0000000) >>> 0).toString(16).padStart(8, '0')}${base.slice(24)}`;
    t.add(base, now + 60_000, 'success');
    expect(t.get(twin, now)).toBe('success');
    expect(t.size).toBe(1);
  });
});

describe('heartbeat gate evictions in the running relay', () => {
  it('counts them in a metric and warns at most once a minute', async () => {
    const { createMetrics } = await import('../../src/observability/metrics.js');
    const { createSharedState } = await import('../../src/service/stores.js');
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (l: string) => lines.push(l) });
    const metrics = createMetrics({ defaultMetrics: false });
    const shared = await createSharedState(
      { redis: undefined, keyPrefix: 'x:', rateLimitPerSecond: 0, memoryMegabytes: 1, dedupTtlSeconds: 60 },
      logger,
      metrics,
    );
    for (let i = 0; i < MAX_HEARTBEAT_GATES + 30; i += 1) await shared.dedup.heartbeat(`g${i}`, 'o', 60_000);
    await shared.close();
    const text = await metrics.registry.metrics();
    expect(text).toContain('sfn_relay_heartbeat_gates_evicted_total 30');
    expect(lines.filter((l) => l.includes('heartbeat gates evicted'))).toHaveLength(1);
  });
});
