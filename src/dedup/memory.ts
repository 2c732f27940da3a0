import type { ClaimResult, DedupStore } from './store.js';

interface Entry {
  /** `undefined` once the hash is done. */
  owner: string | undefined;
  expiresAt: number;
}

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
    return dropped;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
