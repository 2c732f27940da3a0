/**
 * What the Redis server will do with the relay's records when its memory is full, read once at
 * start-up (`CONFIG GET maxmemory-policy`, `maxmemory`; every primary of a cluster) and said in one
 * log line and on `/readyz` (`redis_eviction`). Every relay key carries a TTL, so `volatile-*`
 * policies evict them as readily as `allkeys-*`: only `noeviction` keeps them (and refuses writes
 * with OOM instead, which the relay counts as command errors and alerts on).
 * ElastiCache does not offer CONFIG: the answer is then `unknown`, pointing to the parameter group.
 * The answers are read strictly (`[name, value]`, a policy name, a byte count): any other shape is
 * `unknown` too, quoting what was seen, never a guess.
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
  /** CONFIG refused (ElastiCache, an ACL) or answered in an unexpected shape. */
  | 'unknown';

export interface EvictionReport {
  policy: string | undefined;
  verdict: EvictionVerdict;
  /** One line an operator can act on. */
  meaning: string;
}

const PARAMETER_GROUP =
  "(ElastiCache's default, volatile-lru, evicts the relay's records when memory is full: set noeviction) and size it per docs/redis-sizing.md";

/** Why the verdict is unknown: CONFIG refused (with its error code), or an answer of an unexpected shape. */
function unknownReport(why: { refused: string } | { seen: string }): EvictionReport {
  const meaning =
    'refused' in why
      ? `CONFIG refused (${why.refused}): on ElastiCache CONFIG is not allowed; check the parameter group's maxmemory-policy ${PARAMETER_GROUP}`
      : `CONFIG GET answered an unexpected shape (${why.seen}): check maxmemory-policy and maxmemory on the server ${PARAMETER_GROUP}`;
  return { policy: undefined, verdict: 'unknown', meaning };
}

/** The meaning of one server's answer. */
export function evictionMeaning(policy: string, maxmemory: number): EvictionReport {
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

/** The value of a `CONFIG GET name` answer if it is exactly `[name, value]` and the value fits. */
function configValue(answer: unknown, name: string, fits: RegExp): string | undefined {
  if (!Array.isArray(answer) || answer.length !== 2 || answer[0] !== name) return undefined;
  const value = answer[1];
  return typeof value === 'string' && fits.test(value) ? value : undefined;
}

/** What was seen, short and printable (a CONFIG answer carries no secrets, but keep the line bounded). */
function seen(name: string, answer: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(answer) ?? String(answer);
  } catch {
    text = String(answer);
  }
  return `${name}: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`;
}

async function readNode(node: Node): Promise<EvictionReport> {
  let answers: [unknown, unknown];
  try {
    answers = await Promise.all([node.config('GET', 'maxmemory-policy'), node.config('GET', 'maxmemory')]);
  } catch (err) {
    return unknownReport({ refused: redisErrorCode(err) });
  }
  const policy = configValue(answers[0], 'maxmemory-policy', /^[a-z][a-z-]{0,31}$/);
  if (policy === undefined) return unknownReport({ seen: seen('maxmemory-policy', answers[0]) });
  const max = configValue(answers[1], 'maxmemory', /^\d{1,20}$/);
  if (max === undefined) return unknownReport({ seen: seen('maxmemory', answers[1]) });
  return evictionMeaning(policy, Number(max));
}

const WORST: EvictionVerdict[] = ['evicts', 'unbounded', 'unknown', 'keeps'];

/** The server's (a cluster: the worst primary's) eviction policy and its meaning. Never throws. */
export async function readEviction(client: RedisClient): Promise<EvictionReport> {
  const nodes: Node[] = client.isCluster
    ? (client as import('ioredis').Cluster).nodes('master')
    : [client as import('ioredis').Redis];
  const reports = await Promise.all(nodes.map(readNode));
  reports.sort((a, b) => WORST.indexOf(a.verdict) - WORST.indexOf(b.verdict));
  return reports[0] ?? unknownReport({ seen: 'no primary' });
}
