/**
 * The state replicas share: the dedup store and the rate limit, in Redis (any shape redis.ts
 * knows) with the in-process store as the fallback, or in process only without Redis.
 */
import { Cluster } from 'ioredis';
import { FallbackDedupStore } from './dedup/fallback.js';
import { MemoryDedupStore } from './dedup/memory.js';
import { RedisDedupStore } from './dedup/redis.js';
import type { DedupStore } from './dedup/store.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { createLimiter, type Limiter } from './rateLimit.js';
import { connectRedis, createRedis, isConnectionError, type RedisClient, type RedisSettings } from './redis.js';
import { RedisStatus } from './redisStatus.js';

export interface SharedState {
  dedup: DedupStore;
  limiter: Limiter;
  redisStatus: RedisStatus | undefined;
  close(): Promise<void>;
}

export interface SharedSettings {
  redis: RedisSettings | undefined;
  keyPrefix: string;
  rateLimitPerSecond: number;
}

/** Throws a ConfigError when Redis cannot ever work as configured (TLS trust, credentials, mode). */
export async function createSharedState(s: SharedSettings, logger: Logger, metrics: Metrics): Promise<SharedState> {
  const memory = new MemoryDedupStore();
  const sweep = setInterval(() => memory.sweep(), 60_000);
  sweep.unref();
  let redis: RedisClient | undefined;
  let redisStatus: RedisStatus | undefined;
  let dedup: DedupStore = memory;
  if (s.redis !== undefined) {
    const settings = s.redis;
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
    dedup = new FallbackDedupStore(new RedisDedupStore(client, s.keyPrefix), memory, {
      // On a cluster, every primary must answer: one that is down (before its replica takes over)
      // holds slots the relay's keys hash to.
      probe: () =>
        client instanceof Cluster ? Promise.all(client.nodes('master').map((n) => n.ping())) : client.ping(),
      probeIntervalMs: 1000,
      isConnectionError,
      onCommandError: (err) => status.commandError('dedup', err),
      logger,
      onChange: (kind) => metrics.setDedupStore(kind),
    });
  }
  metrics.setDedupStore(dedup.kind);
  const limiter = createLimiter({
    perSecond: s.rateLimitPerSecond,
    redis,
    keyPrefix: s.keyPrefix,
    logger,
    ...(redisStatus === undefined ? {} : { redisStatus }),
    onMode: (mode) => metrics.setRateLimiterMode(mode),
  });
  return {
    dedup,
    limiter,
    redisStatus,
    async close() {
      clearInterval(sweep);
      await dedup.close();
      if (redis !== undefined) await redis.quit().catch(() => undefined);
    },
  };
}
