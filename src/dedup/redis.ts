import type { RedisClient } from '../redis.js';
import type { ClaimResult, DedupStore } from './store.js';

// Atomic, for any number of keys at once (of one slot, on a cluster): a claim is taken only if the
// hash is free or already ours. ARGV holds owner and lease for each key in turn.
const CLAIM = `
local out = {}
for i, key in ipairs(KEYS) do
  local owner, lease = ARGV[2 * i - 1], ARGV[2 * i]
  local v = redis.call('GET', key)
  if not v or v == owner then
    redis.call('SET', key, owner, 'PX', lease)
    out[i] = 'claimed'
  elseif v == 'done' then
    out[i] = 'done'
  else
    out[i] = 'busy'
  end
end
return out`;

// Compare-and-delete: a slow replica must not drop a claim that has since passed to another.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// Extend only while still the owner: a late renewal must not recreate a released claim.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

// One more failure of the message's own; the counter lives as long as the message may.
const FAIL = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n`;

interface Scripts {
  relayClaim(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<string[]>;
  relayClaimOne(key: string, owner: string, leaseMs: number): Promise<string[]>;
  relayRelease(key: string, owner: string): Promise<number>;
  relayRenew(key: string, owner: string, leaseMs: number): Promise<number>;
  relayFail(key: string, ttlMs: number): Promise<number>;
}

interface PendingClaim {
  key: string;
  owner: string;
  leaseMs: number;
  resolve: (r: ClaimResult) => void;
  reject: (err: unknown) => void;
}

/**
 * The store shared by replicas. Keys are `<prefix>tok:{<sha256 of the token>}` (claims and done
 * records) and `<prefix>fail:{<sha256>}` (failures of the message's own); the braces are a hash
 * tag, so a token's keys live in one slot of a cluster. Values are `c:<owner>` while claimed and
 * `done` after; Redis expiry does the lease and the TTL. The claims made in one tick (a receive
 * batch claims its tokens together) go to a standalone server as one script call; on a cluster,
 * as one single-key script call each, which ioredis pipelines per node — every script call
 * touches one slot, so no CROSSSLOT.
 */
export class RedisDedupStore implements DedupStore {
  readonly kind = 'redis' as const;
  readonly #redis: RedisClient & Scripts;
  readonly #prefix: string;
  #pending: PendingClaim[] = [];

  constructor(redis: RedisClient, prefix: string) {
    redis.defineCommand('relayClaim', { lua: CLAIM });
    // The same script for one key: on a cluster, ioredis routes (and auto-pipelines per node) a
    // script by its declared keys, which a variable key count does not give it.
    redis.defineCommand('relayClaimOne', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('relayRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('relayRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('relayFail', { numberOfKeys: 1, lua: FAIL });
    this.#redis = redis as RedisClient & Scripts;
    this.#prefix = prefix;
  }

  #key(hash: string): string {
    return `${this.#prefix}tok:{${hash}}`;
  }

  claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key: this.#key(hash), owner: `c:${owner}`, leaseMs, resolve, reject });
      if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (!this.#redis.isCluster) {
      this.#settle(
        batch,
        this.#redis.relayClaim(batch.length, ...batch.map((c) => c.key), ...batch.flatMap((c) => [c.owner, c.leaseMs])),
      );
      return;
    }
    for (const c of batch) this.#settle([c], this.#redis.relayClaimOne(c.key, c.owner, c.leaseMs));
  }

  #settle(batch: PendingClaim[], answer: Promise<string[]>): void {
    answer.then(
      (results) => {
        batch.forEach((c, i) => {
          const r = results[i];
          if (r === 'claimed' || r === 'done' || r === 'busy') c.resolve(r);
          else c.reject(new Error(`unexpected claim answer from Redis: ${String(r)}`));
        });
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  }

  async complete(hash: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#key(hash), 'done', 'PX', ttlMs);
  }

  async release(hash: string, owner: string): Promise<void> {
    await this.#redis.relayRelease(this.#key(hash), `c:${owner}`);
  }

  async renew(hash: string, owner: string, leaseMs: number): Promise<void> {
    await this.#redis.relayRenew(this.#key(hash), `c:${owner}`, leaseMs);
  }

  async recordFailure(hash: string, ttlMs: number): Promise<number> {
    return Number(await this.#redis.relayFail(`${this.#prefix}fail:{${hash}}`, ttlMs));
  }

  /** The Redis client is shared (the rate limiter uses it too); whoever created it closes it. */
  async close(): Promise<void> {}
}
