/**
 * What the Redis server will do with the relay's records when its memory is full, read once at
 * start-up (`CONFIG GET maxmemory-policy`, `maxmemory`; every primary of a cluster) and said in one
 * log line and on `/readyz` (`redis_eviction`). Every relay key carries a TTL, so `volatile-*`
 * policies evict them as readily as `allkeys-*`: only `noeviction` keeps them (and refuses writes
 * with OOM instead, which the relay counts as command errors and alerts on).
 * ElastiCache does not offer CONFIG: the answer is then `unknown`, pointing to the parameter group.
 */
import type { RedisClient } from './redis.js';
import { redisErrorCode } from './redisErrors.js';

export type EvictionVerdict =
  /** `noeviction`: records never vanish; a full Redis refuses writes (OOM) and messages wait. */
  | 'keeps'
  /** An evicting policy: a full Redis drops records silently (late copies are sent again). */
  | 'evicts'
  /** No memory limit: Redis grows until its host runs out. */
  | 'unbounded'
  /** CONFIG refused or not answered (ElastiCache). */
  | 'unknown';

export interface EvictionReport {
  policy: string | undefined;
  verdict: EvictionVerdict;
  /** One line an operator can act on. */
  meaning: string;
}

const PARAMETER_GROUP =
  "check maxmemory-policy in the cache's parameter group (ElastiCache's default, volatile-lru, evicts the relay's records when memory is full) and size it per docs/redis-sizing.md";

/** The meaning of one server's answer. */
export function evictionMeaning(policy: string | undefined, maxmemory: number | undefined): EvictionReport {
  if (policy === undefined) {
    return {
      policy,
      verdict: 'unknown',
      meaning: `Redis does not answer CONFIG GET (ElastiCache): ${PARAMETER_GROUP}`,
    };
  }
  if (policy === 'noeviction') {
    return maxmemory === 0
      ? {
          policy,
          verdict: 'unbounded',
          meaning: 'no maxmemory: Redis grows until its host runs out of memory; set maxmemory (docs/redis-sizing.md)',
        }
      : {
          policy,
          verdict: 'keeps',
          meaning:
            'noeviction: done records never vanish; when memory is full Redis refuses writes with OOM (alert SfnRelayRedisErrors) and messages wait',
        };
  }
  return {
    policy,
    verdict: maxmemory === 0 ? 'unbounded' : 'evicts',
    meaning: `${policy}: when memory is full Redis evicts the relay's keys (all carry a TTL) without a word: copies of evicted tokens are sent again (answered TaskTimedOut), an evicted claim lets two replicas send at once; set noeviction or size the cache (docs/redis-sizing.md)`,
  };
}

type Node = { config(op: 'GET', name: string): Promise<unknown> };

async function readNode(node: Node): Promise<EvictionReport> {
  try {
    const [policy, max] = await Promise.all([node.config('GET', 'maxmemory-policy'), node.config('GET', 'maxmemory')]);
    const value = (answer: unknown) => (Array.isArray(answer) ? String(answer[1] ?? '') : undefined);
    const p = value(policy);
    const m = value(max);
    return evictionMeaning(p === '' ? undefined : p, m === undefined ? undefined : Number(m));
  } catch (err) {
    const r = evictionMeaning(undefined, undefined);
    return { ...r, meaning: `${r.meaning} (${redisErrorCode(err)})` };
  }
}

const WORST: EvictionVerdict[] = ['evicts', 'unbounded', 'unknown', 'keeps'];

/** The server's (a cluster: the worst primary's) eviction policy and its meaning. Never throws. */
export async function readEviction(client: RedisClient): Promise<EvictionReport> {
  const nodes: Node[] = client.isCluster
    ? (client as import('ioredis').Cluster).nodes('master')
    : [client as import('ioredis').Redis];
  const reports = await Promise.all(nodes.map(readNode));
  reports.sort((a, b) => WORST.indexOf(a.verdict) - WORST.indexOf(b.verdict));
  return reports[0] ?? evictionMeaning(undefined, undefined);
}
