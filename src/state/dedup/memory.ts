import { DoneTable, entriesForBudget } from './doneTable.js';
import type { ClaimResult, DedupStore, DoneKind, HeartbeatGate } from './store.js';

const MAX_FAILURE_COUNTERS = 100_000;
/**
 * Heartbeat gates held at most (one per token that had a heartbeat sent within its interval): the
 * oldest goes first when full (counted: `onHeartbeatGatesEvicted`), which can let one more
 * heartbeat call of that token through, bounded by the heartbeat rate limit. A gate retains ~600
 * bytes (key, owner id, lease, map slot; measured with --expose-gc): 20,000 gates ~12 MB. A relay
 * at SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND=50 with a 10 s interval holds at most 500; 20,000 covers
 * 2,000/s at 10 s, or 50/s at a 400 s interval.
 */
export const MAX_HEARTBEAT_GATES = 20_000;

type Lease = { owner: string; expiresAt: number };

/** Drops the oldest entries of an insertion-ordered map beyond `max`; answers how many. */
function bound<V>(map: Map<string, V>, max: number): number {
  let dropped = 0;
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) break;
    map.delete(oldest.value);
    dropped += 1;
  }
  return dropped;
}

export interface MemoryStoreOptions {
  now?: () => number;
  /** Done-records kept at most (the oldest go first); default: what `memoryMegabytes` holds. */
  maxEntries?: number;
  /** The memory the done-records may take (DEDUP_MEMORY_MAX_MB). */
  memoryMegabytes?: number;
  /** Heartbeat gates dropped unexpired to keep MAX_HEARTBEAT_GATES (each may cost one extra call). */
  onHeartbeatGatesEvicted?: (count: number) => void;
}

/**
 * The one-replica store, and the fallback for Redis. Done-records live in a compact table (no
 * object per entry; expiry swept a little at a time, oldest first); claims, of which there are at
 * most as many as messages in flight, and failure counts, of which there are as many as failing
 * tokens, in small maps.
 */
export class MemoryDedupStore implements DedupStore {
  readonly kind = 'memory' as const;
  readonly #done: DoneTable;
  readonly #claims = new Map<string, Lease>();
  readonly #beats = new Map<string, Lease>();
  readonly #failures = new Map<string, { count: number; expiresAt: number }>();
  readonly #now: () => number;
  readonly #onGatesEvicted: (count: number) => void;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#onGatesEvicted = options.onHeartbeatGatesEvicted ?? (() => undefined);
    const entries = options.maxEntries ?? entriesForBudget(options.memoryMegabytes ?? 40);
    this.#done = new DoneTable(entries, this.#now());
  }

  /** Done-records held (expired ones not yet swept included). */
  get size(): number {
    return this.#done.size;
  }

  get maxEntries(): number {
    return this.#done.maxEntries;
  }

  /** The unexpired lease of `hash` in `map` (an expired one is dropped). */
  #lease(map: Map<string, Lease>, hash: string): Lease | undefined {
    const c = map.get(hash);
    if (c !== undefined && c.expiresAt <= this.#now()) {
      map.delete(hash);
      return undefined;
    }
    return c;
  }

  #claim(hash: string): Lease | undefined {
    return this.#lease(this.#claims, hash);
  }

  async claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const first = this.#done.get(hash, this.#now());
    if (first !== undefined) return { done: first };
    const c = this.#claim(hash);
    if (c !== undefined && c.owner !== owner) return 'busy';
    this.#claims.set(hash, { owner, expiresAt: this.#now() + leaseMs });
    return 'claimed';
  }

  async complete(hash: string, ttlMs: number, first: DoneKind): Promise<void> {
    this.#claims.delete(hash);
    this.#done.add(hash, this.#now() + ttlMs, first);
  }

  async heartbeat(hash: string, owner: string, intervalMs: number): Promise<HeartbeatGate> {
    const first = this.#done.get(hash, this.#now());
    if (first !== undefined) return { done: first };
    if (this.#lease(this.#beats, hash) !== undefined) return 'coalesced';
    this.#beats.set(hash, { owner, expiresAt: this.#now() + intervalMs });
    this.#boundGates();
    return 'send';
  }

  async restartHeartbeat(hash: string, owner: string, intervalMs: number): Promise<boolean> {
    const gate = this.#lease(this.#beats, hash);
    if (gate !== undefined && gate.owner !== owner) return false;
    this.#beats.delete(hash);
    this.#beats.set(hash, { owner, expiresAt: this.#now() + intervalMs });
    this.#boundGates();
    return true;
  }

  #boundGates(): void {
    const evicted = bound(this.#beats, MAX_HEARTBEAT_GATES);
    if (evicted > 0) this.#onGatesEvicted(evicted);
  }

  async reopenHeartbeat(hash: string, owner: string): Promise<void> {
    if (this.#lease(this.#beats, hash)?.owner === owner) this.#beats.delete(hash);
  }

  /** Heartbeat gates held (expired ones not yet swept included). */
  get heartbeatGates(): number {
    return this.#beats.size;
  }

  async release(hash: string, owner: string): Promise<void> {
    if (this.#claim(hash)?.owner === owner) this.#claims.delete(hash);
  }

  async renew(hash: string, owner: string, leaseMs: number): Promise<void> {
    const c = this.#claim(hash);
    if (c?.owner === owner) c.expiresAt = this.#now() + leaseMs;
  }

  async recordFailure(hash: string, ttlMs: number): Promise<number> {
    const now = this.#now();
    const prior = this.#failures.get(hash);
    const count = prior !== undefined && prior.expiresAt > now ? prior.count + 1 : 1;
    this.#failures.delete(hash);
    this.#failures.set(hash, { count, expiresAt: now + ttlMs });
    // Only failing tokens are counted, so this stays small; bound it anyway, oldest first.
    bound(this.#failures, MAX_FAILURE_COUNTERS);
    return count;
  }

  /**
   * Drops expired records, at most `budget` done-records per call (call it often: each call is
   * short); the claims and failure counts, which are few, in full.
   */
  sweep(budget = 2000): number {
    const now = this.#now();
    const dropped = this.#done.sweep(now, budget);
    for (const [hash, c] of this.#claims) if (c.expiresAt <= now) this.#claims.delete(hash);
    for (const [hash, f] of this.#failures) if (f.expiresAt <= now) this.#failures.delete(hash);
    for (const [hash, b] of this.#beats) if (b.expiresAt <= now) this.#beats.delete(hash);
    return dropped;
  }

  async close(): Promise<void> {
    this.#done.clear();
    this.#claims.clear();
    this.#failures.clear();
    this.#beats.clear();
  }
}
