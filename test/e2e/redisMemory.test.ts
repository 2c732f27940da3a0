/**
 * What remembering a token costs in Redis, on real redis-servers: bytes per done token (used_memory
 * growth / tokens, as an operator would measure it), the upgrade from the key layout before, and
 * what the relay says about the server's eviction policy.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createSharedState } from '../../src/service/stores.js';
import { RedisDedupStore } from '../../src/state/dedup/redis.js';
import { legacyReadUntil } from '../../src/state/dedup/redisLegacy.js';
import { createRedis } from '../../src/state/redis.js';
import { readEviction } from '../../src/state/redisEviction.js';
import { uniquePrefix } from '../support/redis.js';
import { bytesPerDoneToken, fakeTokenHash, legacyBytesPerDoneToken, writeLegacyDone } from '../support/redisBytes.js';
import { type RedisServer, startRedisServer } from '../support/redisServer.js';
import { waitFor } from '../support/wait.js';

/** The target: used_memory per done token. The layout before measured ~213. */
const TARGET_BYTES = 100;

const servers: RedisServer[] = [];
const clients: Redis[] = [];
async function ownServer(args: string[] = []): Promise<Redis> {
  const server = await startRedisServer(args);
  servers.push(server);
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.kill()));
});

describe('bytes per done token on a real redis-server', () => {
  it(`stays at or below ${TARGET_BYTES} bytes of used_memory per done token (100,000 tokens)`, async () => {
    const redis = await ownServer();
    const bytes = await bytesPerDoneToken(redis, new RedisDedupStore(redis, 'sfn-relay:'), 100_000);
    // The claim keys are gone once done: only the records remain.
    expect(await redis.keys('sfn-relay:c*')).toEqual([]);
    expect(bytes).toBeLessThanOrEqual(TARGET_BYTES);
    // The same measurement sees the layout before above the target: it can tell them apart.
    await redis.flushall();
    expect(await legacyBytesPerDoneToken(redis, 'sfn-relay:', 20_000)).toBeGreaterThan(TARGET_BYTES);
  }, 180_000);
});

const cluster = createRedis(
  { url: inject('redisCluster').url, cluster: true, caFile: undefined, username: undefined, password: undefined },
  createLogger('silent'),
);
afterAll(() => cluster.disconnect());
// A server of its own, holding only what the version before wrote (the SCAN looks for it).
let standalone: Redis | undefined;
beforeAll(async () => {
  standalone = await ownServer();
});

describe.each([
  ['standalone', () => standalone as Redis],
  ['cluster', () => cluster],
] as const)('upgrade from the key layout before (%s)', (_name, client) => {
  it('sees tokens done under the old layout as done, and old claims as busy, for one TTL', async () => {
    await waitFor('the client', () => client().status === 'ready');
    const prefix = uniquePrefix();
    const seed = String(Math.random());
    const [oldDone, oldClaimed, fresh] = [0, 1, 2].map((i) => fakeTokenHash(seed, i)) as [string, string, string];
    // What the version before wrote: `<prefix>tok:{<sha256>}` = done | c:<owner>.
    await writeLegacyDone(client(), prefix, oldDone, 86_400_000);
    await client().set(`${prefix}tok:{${oldClaimed}}`, 'c:old-replica', 'PX', 60_000);

    const store = new RedisDedupStore(client(), prefix);
    const until = await store.startLegacyWindow();
    expect(await store.claim(oldDone, 'new', 10_000)).toEqual({ done: 'unknown' });
    // A heartbeat for it is dropped too.
    expect(await store.heartbeat(oldDone, 'new', 10_000)).toEqual({ done: 'unknown' });
    expect(await store.claim(oldClaimed, 'new', 10_000)).toBe('busy');
    expect(await store.claim(fresh, 'new', 10_000)).toBe('claimed');
    // The claim taken beside an old one is given back: once the old replica lets go, it is free.
    await client().del(`${prefix}tok:{${oldClaimed}}`);
    await waitFor(
      'the new claim to be given back',
      async () => (await store.claim(oldClaimed, 'x', 10_000)) === 'claimed',
    );

    // A second relay of the new layout keeps the first one's start; a TTL later, old keys are not read.
    const later = new RedisDedupStore(client(), prefix, { now: () => until + 1 });
    expect(await later.startLegacyWindow()).toBe(until);
    expect(await later.claim(oldDone, 'new', 10_000)).toBe('claimed');

    // A deployment that never had the old layout does not read it (no extra command per claim).
    const freshPrefix = uniquePrefix();
    const fresh2 = new RedisDedupStore(client(), freshPrefix);
    expect(await fresh2.startLegacyWindow()).toBe(0);
    await writeLegacyDone(client(), freshPrefix, oldDone, 60_000);
    expect(await fresh2.claim(oldDone, 'new', 10_000)).toBe('claimed');
  });
});

describe('upgrade on a shared Redis', () => {
  it('reads the old layout when the capped SCAN stopped before seeing a few old keys among a million others', async () => {
    const shared = await ownServer();
    const others = 1_000_000;
    for (let from = 0; from < others; from += 100_000) {
      await shared.eval(
        "for i = ARGV[1], ARGV[2] do redis.call('SET', 'otherapp:cache:' .. i, 'x') end return 1",
        0,
        from,
        Math.min(others, from + 100_000) - 1,
      );
    }
    const prefix = 'sfn-relay:';
    const hashes = [0, 1, 2].map((i) => fakeTokenHash('shared', i));
    for (const h of hashes) await writeLegacyDone(shared, prefix, h, 86_400_000);
    const store = new RedisDedupStore(shared, prefix);
    // A cap of 2 SCAN calls (2,000 keys walked of a million): the walk cannot complete.
    const until = await legacyReadUntil(shared, {
      marker: `${prefix}layout2-since`,
      legacyPattern: `${prefix}tok:*`,
      ttlMs: 86_400_000,
      nowMs: Date.now(),
      scanRounds: 2,
    });
    expect(await shared.get(`${prefix}layout2-since`)).toMatch(/^\d+:1$/);
    const reading = new RedisDedupStore(shared, prefix, { readLegacyUntilMs: until });
    expect(await Promise.all(hashes.map((h) => reading.claim(h, 'new', 10_000)))).toEqual([
      { done: 'unknown' },
      { done: 'unknown' },
      { done: 'unknown' },
    ]);
    // A walk that completes and finds none still concludes "no old keys" (cursor back to 0).
    expect(await store.startLegacyWindow()).toBe(until);
    const empty = await ownServer();
    await empty.set('otherapp:x', '1');
    expect(await new RedisDedupStore(empty, prefix).startLegacyWindow()).toBe(0);
  }, 120_000);
});

describe('upgrade, through the relay start-up', () => {
  it('a relay started on a Redis holding only old-layout records sees them as done', async () => {
    const old = await ownServer();
    const prefix = 'sfn-relay:';
    const hashes = Array.from({ length: 50 }, (_, i) => fakeTokenHash('upgrade', i));
    for (const h of hashes) await writeLegacyDone(old, prefix, h, 86_400_000);
    const shared = await createSharedState(
      {
        redis: {
          url: `redis://127.0.0.1:${old.options.port}`,
          cluster: false,
          caFile: undefined,
          username: undefined,
          password: undefined,
        },
        keyPrefix: prefix,
        rateLimitPerSecond: 0,
        memoryMegabytes: 8,
        dedupTtlSeconds: 86_400,
      },
      createLogger('silent'),
      createMetrics({ defaultMetrics: false }),
    );
    try {
      await waitFor('the layout marker', async () => (await old.get(`${prefix}layout2-since`)) !== null);
      expect(await old.get(`${prefix}layout2-since`)).toMatch(/^\d+:1$/);
      const answers = await Promise.all(hashes.map((h) => shared.dedup.claim(h, 'new-relay', 10_000)));
      expect(answers).toEqual(hashes.map(() => ({ done: 'unknown' })));
      expect(await shared.dedup.claim(fakeTokenHash('upgrade', 50), 'new-relay', 10_000)).toBe('claimed');
    } finally {
      await shared.close();
    }
  });
});

describe('eviction policy', () => {
  it('says an allkeys policy evicts done records, in one warning line and on the status /readyz shows', async () => {
    const policy = await ownServer(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const url = `redis://127.0.0.1:${policy.options.port}`;
    const shared = await createSharedState(
      {
        redis: { url, cluster: false, caFile: undefined, username: undefined, password: undefined },
        keyPrefix: uniquePrefix(),
        rateLimitPerSecond: 0,
        memoryMegabytes: 8,
        dedupTtlSeconds: 86_400,
      },
      createLogger('info', sink),
      createMetrics({ defaultMetrics: false }),
    );
    try {
      await waitFor('the eviction report', () => shared.redisStatus?.eviction !== undefined);
      expect(shared.redisStatus?.eviction).toMatchObject({ policy: 'allkeys-lru', verdict: 'evicts' });
      const said = lines.filter((l) => l.includes('redis eviction'));
      expect(said).toHaveLength(1);
      expect(JSON.parse(said[0] ?? '{}')).toMatchObject({ level: 'warn', policy: 'allkeys-lru', verdict: 'evicts' });
    } finally {
      await shared.close();
    }
  });

  it('tells noeviction (kept; OOM instead) from a server that refuses CONFIG (ElastiCache: the parameter group)', async () => {
    const keeps = await ownServer(['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction']);
    expect(await readEviction(keeps)).toMatchObject({ policy: 'noeviction', verdict: 'keeps' });
    const noConfig = await ownServer(['--rename-command', 'CONFIG', '""']);
    const r = await readEviction(noConfig);
    expect(r.verdict).toBe('unknown');
    expect(r.meaning).toContain('parameter group');
    expect(await readEviction(cluster)).toMatchObject({ verdict: 'unbounded' });
  });
});
