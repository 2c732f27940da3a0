/** The rate limit never degrades silently: real Redis, a Redis that is gone, and one that refuses the command. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createLimiter, type LimiterMode } from '../../src/state/rateLimit.js';
import { RedisStatus } from '../../src/state/redisStatus.js';
import { cleanup, testRedis, uniquePrefix } from '../support/redis.js';

const redis = testRedis();
const prefix = uniquePrefix();
afterAll(async () => {
  await cleanup(redis, prefix);
  redis.disconnect();
});

function logs(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { lines, logger };
}

describe('rate limiter', () => {
  it('shares the count in Redis', async () => {
    if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
    const modes: LimiterMode[] = [];
    const { logger } = logs();
    const a = createLimiter({ perSecond: 5, redis, keyPrefix: prefix, logger, onMode: (m) => modes.push(m) });
    const b = createLimiter({ perSecond: 5, redis, keyPrefix: prefix, logger });
    const waited = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).acquire()));
    // Two limiters, one count: half of the 10 calls wait for the next window.
    expect(waited.filter((w) => w > 0).length).toBeGreaterThanOrEqual(5);
    expect(a.mode).toBe('shared');
    expect(modes).toEqual(['shared']);
  });

  it('says so when Redis is unreachable: local mode, the effective limit logged, a metric', async () => {
    const gone = new Redis({
      port: 1,
      host: '127.0.0.1',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    gone.on('error', () => undefined);
    const metrics = createMetrics({ defaultMetrics: false });
    const { lines, logger } = logs();
    const limiter = createLimiter({
      perSecond: 7,
      redis: gone,
      keyPrefix: prefix,
      logger,
      onMode: (m) => metrics.setRateLimiterMode(m),
    });
    expect(await limiter.acquire()).toBe(0);
    expect(limiter.mode).toBe('local');
    expect(lines.find((l) => String(l.msg).startsWith('shared rate limit unavailable'))).toMatchObject({
      level: 'warn',
      per_replica_per_second: 7,
    });
    expect(await metrics.registry.getSingleMetricAsString('sfn_relay_rate_limiter_mode')).toContain(
      'sfn_relay_rate_limiter_mode{mode="local"} 1',
    );
    // Still limiting, in process: 7 a second, one already taken, so of 8 more at least 2 wait.
    const waited = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire()));
    expect(waited.filter((w) => w > 0).length).toBeGreaterThanOrEqual(2);
    gone.disconnect();
  });

  it('is loud when Redis refuses the command (a configuration error), and keeps limiting in process', async () => {
    const key = `${prefix}bad:`;
    // The limiter's key holds a list: Redis answers WRONGTYPE.
    await redis.rpush(`${key}rl:send-task`, 'x');
    const metrics = createMetrics({ defaultMetrics: false });
    const { lines, logger } = logs();
    const status = new RedisStatus(logger, metrics);
    const limiter = createLimiter({ perSecond: 5, redis, keyPrefix: key, logger, redisStatus: status });
    expect(await limiter.acquire()).toBe(0);
    expect(limiter.mode).toBe('local');
    expect(status.lastCommandError).toMatchObject({ code: 'WRONGTYPE', where: 'rate_limit' });
    expect(lines.some((l) => l.level === 'error' && String(l.msg).startsWith('redis refused a command'))).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('sfn_relay_redis_command_errors_total')).toContain(
      'code="WRONGTYPE"',
    );
    // Limiting goes on in process: 5 a second, one already taken, so of 8 more at least 4 wait for the next second.
    const started = performance.now();
    const waited = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire()));
    expect(waited.filter((w) => w > 0).length).toBeGreaterThanOrEqual(4);
    expect(performance.now() - started).toBeGreaterThanOrEqual(Math.min(...waited.filter((w) => w > 0)) - 5);
    expect(limiter.mode).toBe('local');
  });
});
