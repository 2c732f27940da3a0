import type { Logger } from 'pino';
import type { MemoryDedupStore } from './memory.js';
import type { ClaimResult, DedupStore, StoreKind } from './store.js';

export interface FallbackOptions {
  /** Resolves when the primary answers again (for Redis: PING). */
  probe: () => Promise<unknown>;
  probeIntervalMs: number;
  logger: Logger;
  onChange?: (kind: StoreKind) => void;
}

/**
 * Redis first; while Redis does not answer, the in-process store. Chosen over stalling: a token
 * failed twice across replicas during an outage costs one more `SendTaskFailure`, which Step
 * Functions answers with `TaskTimedOut` (counted as "already closed"), while a stalled relay
 * delays every failure. A probe switches back as soon as Redis answers.
 */
export class FallbackDedupStore implements DedupStore {
  readonly #primary: DedupStore;
  readonly #secondary: MemoryDedupStore;
  readonly #options: FallbackOptions;
  #degraded = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(primary: DedupStore, secondary: MemoryDedupStore, options: FallbackOptions) {
    this.#primary = primary;
    this.#secondary = secondary;
    this.#options = options;
  }

  /** The store that answers now. */
  get kind(): StoreKind {
    return this.#degraded ? this.#secondary.kind : this.#primary.kind;
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  #degrade(err: unknown): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#options.logger.warn(
      { err: { name: (err as Error)?.name, message: (err as Error)?.message } },
      'dedup store unavailable, using the in-process store until it answers',
    );
    this.#options.onChange?.(this.kind);
    this.#timer = setInterval(() => {
      this.#options.probe().then(
        () => this.#recover(),
        () => undefined,
      );
    }, this.#options.probeIntervalMs);
    this.#timer.unref();
  }

  #recover(): void {
    if (!this.#degraded) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#degraded = false;
    this.#options.logger.info('dedup store answers again');
    this.#options.onChange?.(this.kind);
  }

  async #run<T>(op: (store: DedupStore) => Promise<T>): Promise<T> {
    if (!this.#degraded) {
      try {
        return await op(this.#primary);
      } catch (err) {
        this.#degrade(err);
      }
    }
    return op(this.#secondary);
  }

  claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return this.#run((s) => s.claim(hash, owner, leaseMs));
  }

  async complete(hash: string, ttlMs: number): Promise<void> {
    // Record in both: while degraded, the memory record still answers this replica's duplicates.
    await this.#secondary.complete(hash, ttlMs);
    await this.#run((s) => (s === this.#secondary ? Promise.resolve() : s.complete(hash, ttlMs)));
  }

  async release(hash: string, owner: string): Promise<void> {
    await this.#secondary.release(hash, owner);
    await this.#run((s) => (s === this.#secondary ? Promise.resolve() : s.release(hash, owner)));
  }

  renew(hash: string, owner: string, leaseMs: number): Promise<void> {
    return this.#run((s) => s.renew(hash, owner, leaseMs));
  }

  recordFailure(hash: string, ttlMs: number): Promise<number> {
    return this.#run((s) => s.recordFailure(hash, ttlMs));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([this.#primary.close(), this.#secondary.close()]);
  }
}
