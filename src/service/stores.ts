/**
 * The state replicas share: the dedup store and the rate limit, in Redis (any shape redis.ts
 * knows) with the in-process store as the fallback, or in process only without Redis.
 */

import type { Logger } from '../core/log.js';
import type { Metrics } from '../observability/metrics.js';
import { bytesPerEntry } from '../state/dedup/doneTable.js';
import { FallbackDedupStore } from '../state/dedup/fallback.js';
import { MAX_HEARTBEAT_GATES, MemoryDedupStore } from '../state/dedup/memory.js';
import type { DedupStore } from '../state/dedup/store.js';
import { createLimiter, type Limiter } from '../state/rateLimit.js';
import type { RedisClient, RedisSettings } from '../state/redis.js';
import { isConnectionError } from '../state/redisErrors.js';
import { RedisStatus } from '../state/redisStatus.js';

export interface SharedState {
  dedup: DedupStore;
  /** Terminal callbacks' limiter (SFN_RATE_LIMIT_PER_SECOND). */
  limiter: Limiter;
  /** Heartbeats' own (SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND): a heartbeat storm cannot starve the terminal callbacks. */
  heartbeatLimiter: Limiter;
  redisStatus: RedisStatus | undefined;
  close(): Promise<void>;
}

export interface SharedSettings {
  redis: RedisSettings | undefined;
  keyPrefix: string;
  rateLimitPerSecond: number;
  /** SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND (default 50). */
  heartbeatRateLimitPerSecond?: number;
  /** DEDUP_MEMORY_MAX_MB: the in-process done-records' budget. */
  memoryMegabytes: number;
  /** DEDUP_TTL_SECONDS: sizes the Redis store's windows (src/state/dedup/redisKeys.ts). */
  dedupTtlSeconds: number;
}

/**
 * While Redis is the store, the in-process one only mirrors what a fallback needs: the tokens done
 * in the last 15 minutes, the window in which copies of a token arrive (redeliveries, producer and
 * SNS retries). At the rate limit that is rate × 900 entries; its budget is sized for that.
 */
export const MIRROR_TTL_MS = 15 * 60 * 1000;

export function mirrorMegabytes(s: SharedSettings): number {
  if (s.rateLimitPerSecond <= 0) return Math.max(1, Math.ceil(s.memoryMegabytes / 4));
  const bytes = s.rateLimitPerSecond * (MIRROR_TTL_MS / 1000) * bytesPerEntry();
  return Math.max(1, Math.min(s.memoryMegabytes, Math.ceil(bytes / 1024 / 1024)));
}

/** Throws a ConfigError when Redis cannot ever work as configured (TLS trust, credentials, mode). */
export async function createSharedState(s: SharedSettings, logger: Logger, metrics: Metrics): Promise<SharedState> {
  const memory = new MemoryDedupStore({
    memoryMegabytes: s.redis === undefined ? s.memoryMegabytes : mirrorMegabytes(s),
    onHeartbeatGatesEvicted: gateEvictions(logger, metrics),
  });
  // A little every second: no sweep holds the event loop for long.
  const sweep = setInterval(() => memory.sweep(), 1000);
  sweep.unref();
  let redis: RedisClient | undefined;
  let redisStatus: RedisStatus | undefined;
  let dedup: DedupStore = memory;
  if (s.redis !== undefined) {
    const settings = s.redis;
    // ioredis is loaded only when Redis is configured.
    const [{ connectRedis, createRedis }, { RedisDedupStore }, { readEviction }] = await Promise.all([
      import('../state/redis.js'),
      import('../state/dedup/redis.js'),
      import('../state/redisEviction.js'),
    ]);
    redis = createRedis(settings, logger);
    const status = new RedisStatus(logger, metrics);
    redisStatus = status;
    try {
      await connectRedis(redis, settings, 5000);
    } catch (err) {
      clearInterval(sweep);
      throw err;
    }
    const client = redis;
    // On every (re)connection: what a full Redis does with the records (said when it changes), and
    // until when to read the key layout before this one (src/state/dedup/redis.ts).
    const store = new RedisDedupStore(client, s.keyPrefix, { ttlMs: s.dedupTtlSeconds * 1000 });
    const onReady = () => {
      void readEviction(client).then((r) => status.setEviction(r));
      store.startLegacyWindow().catch(() => undefined);
    };
    client.on('ready', onReady);
    if (client.status === 'ready') onReady();
    dedup = new FallbackDedupStore(store, memory, {
      // On a cluster, every primary must answer: one that is down (before its replica takes over)
      // holds slots the relay's keys hash to.
      probe: () =>
        client.isCluster
          ? Promise.all((client as import('ioredis').Cluster).nodes('master').map((n) => n.ping()))
          : client.ping(),
      probeIntervalMs: 1000,
      mirrorTtlMs: MIRROR_TTL_MS,
      isConnectionError,
      onCommandError: (err) => status.commandError('dedup', err),
      logger,
      onChange: (kind) => metrics.setDedupStore(kind),
    });
  }
  metrics.setDedupStore(dedup.kind);
  metrics.redisConfigured.set(s.redis === undefined ? 0 : 1);
  const limiter = createLimiter({
    perSecond: s.rateLimitPerSecond,
    redis,
    keyPrefix: s.keyPrefix,
    logger,
    ...(redisStatus === undefined ? {} : { redisStatus }),
    onMode: (mode) => metrics.setRateLimiterMode(mode),
  });
  // Same Redis, its own key: when Redis fails, both limiters go local together (the terminal
  // limiter's mode metric and /readyz `rate_limit` say so; this one logs its own line).
  const heartbeatLimiter = createLimiter({
    perSecond: s.heartbeatRateLimitPerSecond ?? 50,
    redis,
    keyPrefix: s.keyPrefix,
    key: 'send-task-heartbeat',
    name: 'heartbeat',
    logger,
    ...(redisStatus === undefined ? {} : { redisStatus }),
  });
  return {
    dedup,
    limiter,
    heartbeatLimiter,
    redisStatus,
    async close() {
      clearInterval(sweep);
      await dedup.close();
      if (redis !== undefined) await redis.quit().catch(() => undefined);
    },
  };
}

/** Evicted heartbeat gates: counted, and one warning a minute at most with the count since the last. */
function gateEvictions(logger: Logger, metrics: Metrics): (count: number) => void {
  let last = Number.NEGATIVE_INFINITY;
  let since = 0;
  return (count) => {
    metrics.heartbeatGatesEvicted.inc(count);
    since += count;
    if (Date.now() - last < 60_000) return;
    logger.warn(
      { evicted_gates: since, max_gates: MAX_HEARTBEAT_GATES },
      'heartbeat gates evicted before their interval ended; each may cost one extra heartbeat call',
    );
    last = Date.now();
    since = 0;
  };
}
