import type { RedisClient } from '../redis.js';
import { doneAnswer, doneValue, RedisKeys } from './redisKeys.js';
import { legacyReadUntil } from './redisLegacy.js';
import type { ClaimResult, DedupStore, DoneKind, HeartbeatGate } from './store.js';

// Atomic, for any number of tokens at once (of one slot, on a cluster). ARGV[1] is how many done
// hashes each token brings after its claim key; then field, owner and lease for each token in turn.
// A token done in any of its hashes is 'done:<value>' (the kind that closed it, `1` before kinds
// were stored); else the claim is taken if free or already ours.
const CLAIM = `
local m = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / (m + 1) do
  local base, a = (i - 1) * (m + 1), 2 + (i - 1) * 3
  local field, owner, lease = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  for j = base + 2, base + m + 1 do
    local d = redis.call('HGET', KEYS[j], field)
    if d then out[i] = 'done:' .. d break end
  end
  if not out[i] then
    local v = redis.call('GET', KEYS[base + 1])
    if not v or v == owner then
      redis.call('SET', KEYS[base + 1], owner, 'PX', lease)
      out[i] = 'claimed'
    else
      out[i] = 'busy'
    end
  end
end
return out`;

// The record into its window's hash (which expires at the window's end); the claim is over. A
// record already in that hash keeps its kind (the first terminal callback wins), except that a
// definite kind (f, s) replaces 'u' (found closed by TaskTimedOut); 'u' never replaces anything.
const COMPLETE = `
if ARGV[3] == 'u' or redis.call('HGET', KEYS[1], ARGV[1]) ~= 'u' then
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1`;

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

// A heartbeat: done in any of the token's hashes (KEYS[2..]) answers 'done:<value>'; else the
// gate (KEYS[1]) is taken for the interval if free: 'send', or 'coalesced'.
const HEARTBEAT = `
for j = 2, #KEYS do
  local d = redis.call('HGET', KEYS[j], ARGV[1])
  if d then return 'done:' .. d end
end
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then return 'send' end
return 'coalesced'`;

// A heartbeat's call starts: its gate (KEYS[1]) is set again for the interval from now if this
// owner still holds it or it has expired (1: call); a gate another owner took since is left alone
// (0: that copy calls instead).
const RESTART = `
local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

interface Scripts {
  relayHeartbeat(...keysThenArgs: (string | number)[]): Promise<string>;
  relayClaim(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<string[]>;
  relayClaimOne(...keysThenArgs: (string | number)[]): Promise<string[]>;
  relayComplete(hashKey: string, claimKey: string, field: string, expiresAtMs: number, value: string): Promise<number>;
  relayRelease(key: string, owner: string): Promise<number>;
  relayRenew(key: string, owner: string, leaseMs: number): Promise<number>;
  relayRestart(key: string, owner: string, intervalMs: number): Promise<number>;
  relayFail(key: string, ttlMs: number): Promise<number>;
}

/** Claims per script call on a standalone server: bounds a call to ~13,500 arguments (up to 27 a claim). */
const CLAIMS_PER_CALL = 500;

interface PendingClaim {
  hash: string;
  owner: string;
  leaseMs: number;
  resolve: (r: ClaimResult) => void;
  reject: (err: unknown) => void;
}

export interface RedisStoreOptions {
  /** DEDUP_TTL_SECONDS in ms: the longest a done record is kept (it sizes the windows). */
  ttlMs?: number;
  /** Read the keys of versions before the hashed layout until then (ms since the epoch; see the class comment). */
  readLegacyUntilMs?: number;
  now?: () => number;
}

/**
 * The store shared by replicas, in the layout redisKeys.ts describes: done records as fields of
 * per-shard, per-window hashes; claims (`<prefix>c{shard}<id>` = owner, expiring with the lease)
 * and failure counts (`<prefix>f{shard}<id>`) one key each. The claims made in one tick (a receive
 * batch claims its tokens together) go to a standalone server as one script call; on a cluster, as
 * one call per token (all its keys share the shard's hash tag), which ioredis pipelines per node.
 *
 * Upgrading from the layout before (`<prefix>tok:{<sha256>}` = `done` or `c:<owner>`): each claim
 * also reads its token's old key, in the same round trip (pipelined), and an old `done` or another
 * replica's old claim wins. Old keys expire within their DEDUP_TTL_SECONDS, so the read stops by
 * itself one TTL after the first relay of this layout started, and never starts where there were
 * no old keys (redisLegacy.ts); the code can go in a release once every deployment has run this
 * one for a TTL. An old-version replica still running during a rollout does not see new claims: a copy
 * it takes at the same moment can be sent twice and is answered TaskTimedOut.
 */
export class RedisDedupStore implements DedupStore {
  readonly kind = 'redis' as const;
  readonly #redis: RedisClient & Scripts;
  readonly #keys: RedisKeys;
  #readLegacyUntilMs: number;
  readonly #now: () => number;
  #pending: PendingClaim[] = [];

  constructor(redis: RedisClient, prefix: string, o: RedisStoreOptions = {}) {
    this.#keys = new RedisKeys(prefix, o.ttlMs ?? 86_400_000);
    this.#readLegacyUntilMs = o.readLegacyUntilMs ?? Number.POSITIVE_INFINITY;
    this.#now = o.now ?? Date.now;
    redis.defineCommand('relayClaim', { lua: CLAIM });
    // The same script for one token: on a cluster, ioredis routes (and auto-pipelines per node) a
    // script by its declared keys, which a variable key count does not give it.
    redis.defineCommand('relayClaimOne', { numberOfKeys: this.#keys.lookups + 1, lua: CLAIM });
    redis.defineCommand('relayComplete', { numberOfKeys: 2, lua: COMPLETE });
    redis.defineCommand('relayRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('relayRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('relayRestart', { numberOfKeys: 1, lua: RESTART });
    redis.defineCommand('relayFail', { numberOfKeys: 1, lua: FAIL });
    redis.defineCommand('relayHeartbeat', { numberOfKeys: this.#keys.lookups + 1, lua: HEARTBEAT });
    this.#redis = redis as RedisClient & Scripts;
  }

  /**
   * Learns whether and until when to read the old layout (redisLegacy.ts). Call it once Redis
   * answers; until then the store reads it.
   */
  async startLegacyWindow(): Promise<number> {
    this.#readLegacyUntilMs = await legacyReadUntil(this.#redis, {
      marker: this.#keys.layoutSince,
      legacyPattern: this.#keys.legacyPattern,
      ttlMs: this.#keys.ttlMs,
      nowMs: this.#now(),
    });
    return this.#readLegacyUntilMs;
  }

  claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ hash, owner, leaseMs, resolve, reject });
      if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    const now = this.#now();
    const m = this.#keys.lookups;
    const parts = batch.map((c) => {
      const k = this.#keys.token(c.hash);
      return { keys: [k.claim, ...this.#keys.doneHashes(k.tag, now)], args: [k.field, c.owner, c.leaseMs], k };
    });
    const legacy = now < this.#readLegacyUntilMs ? parts.map((p) => this.#redis.get(p.k.legacy)) : [];
    if (!this.#redis.isCluster) {
      // In chunks: one script call's arguments are spread into a JS call, which a large tick would overflow.
      for (let at = 0; at < parts.length; at += CLAIMS_PER_CALL) {
        const chunk = parts.slice(at, at + CLAIMS_PER_CALL);
        const answer = this.#redis.relayClaim(
          chunk.length * (m + 1),
          ...chunk.flatMap((p) => p.keys),
          m,
          ...chunk.flatMap((p) => p.args),
        );
        this.#settle(batch.slice(at, at + CLAIMS_PER_CALL), answer, legacy.slice(at, at + CLAIMS_PER_CALL));
      }
      return;
    }
    batch.forEach((c, i) => {
      const p = parts[i];
      if (p === undefined) return;
      this.#settle([c], this.#redis.relayClaimOne(...p.keys, m, ...p.args), legacy.slice(i, i + 1));
    });
  }

  #settle(batch: PendingClaim[], answer: Promise<string[]>, legacy: Promise<string | null>[]): void {
    Promise.all([answer, Promise.all(legacy)]).then(
      ([results, old]) => {
        batch.forEach((c, i) => {
          const raw = results[i];
          const r = raw === 'claimed' || raw === 'busy' ? raw : doneAnswer(raw);
          if (r === undefined) {
            c.reject(new Error(`unexpected claim answer from Redis: ${String(raw)}`));
            return;
          }
          const before = legacyAnswer(old[i]);
          if (r !== 'claimed' || before === undefined) {
            c.resolve(r);
            return;
          }
          // The old layout says done, or an old replica holds it: give back the claim just taken
          // (if this fails, the lease ends it).
          this.release(c.hash, c.owner).catch(() => undefined);
          c.resolve(before);
        });
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  }

  async complete(hash: string, ttlMs: number, first: DoneKind): Promise<void> {
    const k = this.#keys.token(hash);
    const target = this.#keys.doneHash(k.tag, this.#now(), ttlMs);
    await this.#redis.relayComplete(target.key, k.claim, k.field, target.expiresAtMs, doneValue(first));
  }

  async heartbeat(hash: string, owner: string, intervalMs: number): Promise<HeartbeatGate> {
    const k = this.#keys.token(hash);
    const now = this.#now();
    const hashes = this.#keys.doneHashes(k.tag, now);
    // In the upgrade window, a token done under the old layout is done here too (same round trip).
    const [raw, old] = await Promise.all([
      this.#redis.relayHeartbeat(k.heartbeat, ...hashes, k.field, owner, intervalMs),
      now < this.#readLegacyUntilMs ? this.#redis.get(k.legacy) : null,
    ]);
    if (old === 'done') return { done: 'unknown' };
    const r = raw === 'send' || raw === 'coalesced' ? raw : doneAnswer(raw);
    if (r === undefined) throw new Error(`unexpected heartbeat answer from Redis: ${String(raw)}`);
    return r;
  }

  async restartHeartbeat(hash: string, owner: string, intervalMs: number): Promise<boolean> {
    return Number(await this.#redis.relayRestart(this.#keys.token(hash).heartbeat, owner, intervalMs)) === 1;
  }

  async reopenHeartbeat(hash: string, owner: string): Promise<void> {
    await this.#redis.relayRelease(this.#keys.token(hash).heartbeat, owner);
  }

  async release(hash: string, owner: string): Promise<void> {
    await this.#redis.relayRelease(this.#keys.token(hash).claim, owner);
  }

  async renew(hash: string, owner: string, leaseMs: number): Promise<void> {
    await this.#redis.relayRenew(this.#keys.token(hash).claim, owner, leaseMs);
  }

  async recordFailure(hash: string, ttlMs: number): Promise<number> {
    return Number(await this.#redis.relayFail(this.#keys.token(hash).failures, ttlMs));
  }

  /** The Redis client is shared (the rate limiter uses it too); whoever created it closes it. */
  async close(): Promise<void> {}
}

/** What a key of the old layout says: done (by a kind it did not record), claimed by an old replica (busy), or nothing. */
function legacyAnswer(value: string | null | undefined): ClaimResult | undefined {
  if (value === 'done') return { done: 'unknown' };
  if (typeof value === 'string' && value.startsWith('c:')) return 'busy';
  return undefined;
}
