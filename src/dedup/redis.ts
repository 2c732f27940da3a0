import type { Redis } from 'ioredis';
import type { ClaimResult, DedupStore } from './store.js';

// One round trip, atomic: a claim is taken only if the hash is free or already ours.
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'claimed'
end
if v == 'done' then return 'done' end
return 'busy'`;

// Compare-and-delete: a slow replica must not drop a claim that has since passed to another.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Scripts {
  relayClaim(key: string, owner: string, leaseMs: number): Promise<string>;
  relayRelease(key: string, owner: string): Promise<number>;
}

/**
 * The store shared by replicas. Keys are `<prefix>tok:<sha256 of the token>`; values are
 * `c:<owner>` while claimed and `done` after. Redis expiry does the lease and the TTL.
 */
export class RedisDedupStore implements DedupStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis & Scripts;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    redis.defineCommand('relayClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('relayRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#redis = redis as Redis & Scripts;
    this.#prefix = prefix;
  }

  #key(hash: string): string {
    return `${this.#prefix}tok:${hash}`;
  }

  async claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const result = await this.#redis.relayClaim(this.#key(hash), `c:${owner}`, leaseMs);
    if (result === 'claimed' || result === 'done' || result === 'busy') return result;
    throw new Error(`unexpected claim answer from Redis: ${String(result)}`);
  }

  async complete(hash: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#key(hash), 'done', 'PX', ttlMs);
  }

  async release(hash: string, owner: string): Promise<void> {
    await this.#redis.relayRelease(this.#key(hash), `c:${owner}`);
  }

  /** The Redis client is shared (the rate limiter uses it too); whoever created it closes it. */
  async close(): Promise<void> {}
}
