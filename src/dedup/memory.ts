import type { ClaimResult, DedupStore } from './store.js';

interface Entry {
  /** `undefined` once the hash is done. */
  owner: string | undefined;
  expiresAt: number;
}

const MAX_FAILURE_COUNTERS = 100_000;

export interface MemoryStoreOptions {
  now?: () => number;
  /** Oldest entries are evicted past this many (bounded memory at high volume). */
  maxEntries?: number;
}

/**
 * The one-replica store. A Map keeps insertion order, so eviction of the oldest entry and the
 * sweep of expired ones are both cheap.
 */
export class MemoryDedupStore implements DedupStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #failures = new Map<string, { count: number; expiresAt: number }>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 1_000_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  #live(hash: string): Entry | undefined {
    const entry = this.#entries.get(hash);
    if (entry !== undefined && entry.expiresAt <= this.#now()) {
      this.#entries.delete(hash);
      return undefined;
    }
    return entry;
  }

  #set(hash: string, entry: Entry): void {
    // Re-insert so the Map's order stays the order of last write.
    this.#entries.delete(hash);
    this.#entries.set(hash, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  async claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const entry = this.#live(hash);
    if (entry === undefined || entry.owner === owner) {
      this.#set(hash, { owner, expiresAt: this.#now() + leaseMs });
      return 'claimed';
    }
    return entry.owner === undefined ? 'done' : 'busy';
  }

  async complete(hash: string, ttlMs: number): Promise<void> {
    this.#set(hash, { owner: undefined, expiresAt: this.#now() + ttlMs });
  }

  async release(hash: string, owner: string): Promise<void> {
    const entry = this.#live(hash);
    if (entry?.owner === owner) this.#entries.delete(hash);
  }

  async renew(hash: string, owner: string, leaseMs: number): Promise<void> {
    const entry = this.#live(hash);
    if (entry?.owner === owner) entry.expiresAt = this.#now() + leaseMs;
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

  /** Drops expired entries; called periodically so done-records do not pile up. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [hash, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(hash);
        dropped += 1;
      }
    }
    for (const [hash, f] of this.#failures) if (f.expiresAt <= now) this.#failures.delete(hash);
    return dropped;
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#failures.clear();
  }
}
