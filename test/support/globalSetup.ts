/**
 * Servers every test file may use, started once on free ports before the tests and stopped after:
 * a standalone Redis (TEST_REDIS_URL, when set, is used instead), a Redis Cluster and a TLS Redis.
 * A missing binary fails the run with one line naming its Debian package.
 */
import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './redisCluster.js';
import { startRedisServer } from './redisServer.js';
import { startRedisTls } from './redisTls.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisCluster: { url: string; ports: number[] };
    redisTls: { url: string; caFile: string; wrongCaFile: string; password: string; port: number };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [standalone, cluster, tls] = await Promise.all([
    process.env.TEST_REDIS_URL === undefined ? startRedisServer() : undefined,
    startRedisCluster(),
    startRedisTls(),
  ]);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? standalone?.url ?? '');
  project.provide('redisCluster', { url: cluster.url, ports: cluster.ports });
  project.provide('redisTls', {
    url: tls.url,
    caFile: tls.caFile,
    wrongCaFile: tls.wrongCaFile,
    password: tls.password,
    port: tls.port,
  });
  return async () => {
    await Promise.all([standalone?.kill(), cluster.stop(), tls.stop()]);
  };
}
