import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { createRedis, type RedisClient } from '../../src/state/redis.js';

/** The standalone Redis of the test run (globalSetup.ts), or TEST_REDIS_URL. */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A prefix of its own per test, so parallel test files never share keys. */
export function uniquePrefix(): string {
  return `sfn-relay-test:${randomUUID()}:`;
}

export function testRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
}

/** Deletes every key under the prefix. */
export async function cleanup(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
}

/** A client of the test run's Redis Cluster (globalSetup.ts), as the relay makes it. */
export function testRedisCluster(): RedisClient {
  return createRedis(
    { url: inject('redisCluster').url, cluster: true, caFile: undefined, username: undefined, password: undefined },
    createLogger('silent'),
  );
}

/**
 * The test run's standalone Redis and Redis Cluster for one test file, with a prefix of its own:
 * the file's keys are deleted and both clients closed after it.
 */
export function useRedisAndCluster(): { redis: Redis; cluster: RedisClient; prefix: string } {
  const redis = testRedis();
  const prefix = uniquePrefix();
  const cluster = testRedisCluster();
  afterAll(async () => {
    await cleanup(redis, prefix);
    redis.disconnect();
    cluster.disconnect();
  });
  return { redis, cluster, prefix };
}
