import { DoneTable, entriesForBudget } from './doneTable.js';
import type { ClaimResult, DedupStore } from './store.js';

const MAX_FAILURE_COUNTERS = 100_000;

export interface MemoryStoreOptions {
  now?: () => number;
  /** Done-records kept at most (the oldest go first); default: what `memoryMegabytes` holds. */
  maxEntries?: number;
  /** The memory the done-records may take (DEDUP_MEMORY_MAX_MB). */
  memoryMegabytes?: number;
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
  readonly #claims = new Map<string, { owner: string; expiresAt: number }>();
  readonly #failures = new Map<string, { count: number; expiresAt: number }>();
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
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

  #claim(hash: string): { owner: string; expiresAt: number } | undefined {
    const c = this.#claims.get(hash);
    if (c !== undefined && c.expiresAt <= this.#now()) {
      this.#claims.delete(hash);
      return undefined;
    }
    return c;
  }

  async claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    if (this.#done.has(hash, this.#now())) return 'done';
    const c = this.#claim(hash);
    if (c !== undefined && c.owner !== owner) return 'busy';
    this.#claims.set(hash, { owner, expiresAt: this.#now() + leaseMs });
    return 'claimed';
  }

  async complete(hash: string, ttlMs: number): Promise<void> {
    this.#claims.delete(hash);
    this.#done.add(hash, this.#now() + ttlMs);
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
    if (this.#failures.size > MAX_FAILURE_COUNTERS) {
      const oldest = this.#failures.keys().next();
      if (!oldest.done) this.#failures.delete(oldest.value);
    }
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
    return dropped;
  }

  async close(): Promise<void> {
    this.#done.clear();
    this.#claims.clear();
    this.#failures.clear();
  }
}
