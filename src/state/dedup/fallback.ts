import type { Logger } from 'pino';
import type { MemoryDedupStore } from './memory.js';
import type { ClaimResult, DedupStore, DoneKind, HeartbeatGate, StoreKind } from './store.js';

export interface FallbackOptions {
  /** Resolves when the primary answers (for Redis: PING); a reply error (NOPERM) is an answer too. */
  probe: () => Promise<unknown>;
  probeIntervalMs: number;
  /** Consecutive answered probes before switching back (a flapping link does not switch every second). */
  probesToRecover?: number;
  /** Least time on the in-process store once switched to it. */
  minDegradedMs?: number;
  /**
   * How long connection failures must last before switching: a shorter blip (a failover, a
   * reconnect) fails the operations instead (the message is handed back and retried on Redis), so
   * shared dedup holds through it.
   */
  degradeAfterMs?: number;
  /** Whether an error means "unreachable" (switch); anything else is a command error (report, no switch). */
  isConnectionError: (err: unknown) => boolean;
  /** While the primary answers, the in-process mirror keeps done-records this long at most. */
  mirrorTtlMs?: number;
  onCommandError?: (err: unknown) => void;
  logger: Logger;
  onChange?: (kind: StoreKind) => void;
  now?: () => number;
}

/**
 * Redis first; while Redis is unreachable, the in-process store. Chosen over stalling: a token
 * failed twice across replicas during an outage costs one more `SendTaskFailure`, which Step
 * Functions answers with `TaskTimedOut` (counted as "already closed"), while a stalled relay
 * delays every failure. Only connection-level failures switch stores; a command error (CROSSSLOT,
 * WRONGTYPE, NOPERM…) is a bug or a configuration error: it is reported and the operation fails
 * (the message is handed back as `store_unavailable`), it never degrades silently. Hysteresis on
 * both sides: connection failures must last `degradeAfterMs` before the switch (a cluster failover
 * is waited out, shared dedup intact), and switching back needs several answered probes over a
 * minimum time, so a flapping link cannot make the relay switch every second.
 */
export class FallbackDedupStore implements DedupStore {
  readonly #primary: DedupStore;
  readonly #secondary: MemoryDedupStore;
  readonly #o: Required<Omit<FallbackOptions, 'onChange' | 'onCommandError'>> &
    Pick<FallbackOptions, 'onChange' | 'onCommandError'>;
  #degraded = false;
  #degradedAt = 0;
  /**
   * When the current run of connection failures began; undefined while Redis answers. Only a
   * successful operation ends a run: a probe can answer while operations fail (PING during a
   * failover's `READONLY`, or `Command timed out` on a busy node), so a probe's answer ends nothing
   * while operations keep failing. It only tells a quiet queue from an outage: a failure that comes
   * a whole grace after the last one, with a probe answered in between, begins a new run, so one
   * failure followed by a quiet queue does not take the grace from the next, unrelated blip.
   */
  #failingSince: number | undefined;
  #lastFailureAt = 0;
  /** A probe answered since the last failed operation. */
  #probeAnswered = false;
  #answered = 0;
  #switches = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Probes Redis during a run of failures, before the switch; bounded by the run (cleared on any answer). */
  #watch: NodeJS.Timeout | undefined;

  constructor(primary: DedupStore, secondary: MemoryDedupStore, options: FallbackOptions) {
    this.#primary = primary;
    this.#secondary = secondary;
    this.#o = {
      probesToRecover: 3,
      minDegradedMs: 5000,
      degradeAfterMs: 5000,
      mirrorTtlMs: Number.POSITIVE_INFINITY,
      now: Date.now,
      ...options,
    };
  }

  /** The store that answers now. */
  get kind(): StoreKind {
    return this.#degraded ? this.#secondary.kind : this.#primary.kind;
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  /** Times the store has switched (to memory and back), for tests and `/readyz`. */
  get switches(): number {
    return this.#switches;
  }

  /** A run of connection failures begins (or goes on): probe until a probe answers. */
  #failing(now: number): void {
    const quietSince = this.#probeAnswered && now - this.#lastFailureAt >= this.#o.degradeAfterMs;
    if (quietSince) this.#failingSince = undefined;
    this.#failingSince ??= now;
    this.#lastFailureAt = now;
    this.#probeAnswered = false;
    if (this.#watch !== undefined) return;
    this.#watch = setInterval(() => {
      void this.#probe().then((answered) => {
        if (!answered || this.#degraded) return;
        this.#probeAnswered = true;
        clearInterval(this.#watch);
        this.#watch = undefined;
      });
    }, this.#o.probeIntervalMs);
    this.#watch.unref();
  }

  /**
   * Whether Redis answered the probe. A reply refusing the command (`NOPERM` for an ACL user
   * without `PING`) is an answer too: Redis is reachable, and a refused probe must neither skip a
   * grace nor keep the relay on the in-process store.
   */
  #probe(): Promise<boolean> {
    return this.#o.probe().then(
      () => true,
      (err: unknown) => (err as Error)?.name === 'ReplyError' && !this.#o.isConnectionError(err),
    );
  }

  /** An operation succeeded while not degraded: the run of failures, if any, is over. */
  #answeredAgain(): void {
    this.#failingSince = undefined;
    this.#probeAnswered = false;
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  #degrade(err: unknown): void {
    if (this.#degraded) return;
    clearInterval(this.#watch);
    this.#watch = undefined;
    this.#degraded = true;
    this.#switches += 1;
    this.#degradedAt = this.#o.now();
    this.#answered = 0;
    this.#o.logger.warn(
      { err: { name: (err as Error)?.name, message: (err as Error)?.message } },
      'dedup store unreachable, using the in-process store until it answers again',
    );
    this.#o.onChange?.(this.kind);
    this.#timer = setInterval(() => {
      void this.#probe().then((answered) => {
        this.#answered = answered ? this.#answered + 1 : 0;
        this.#maybeRecover();
      });
    }, this.#o.probeIntervalMs);
    this.#timer.unref();
  }

  #maybeRecover(): void {
    if (!this.#degraded || this.#answered < this.#o.probesToRecover) return;
    if (this.#o.now() - this.#degradedAt < this.#o.minDegradedMs) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#degraded = false;
    this.#failingSince = undefined;
    this.#switches += 1;
    this.#o.logger.info({ probes: this.#answered }, 'dedup store answers again');
    this.#o.onChange?.(this.kind);
  }

  async #run<T>(op: (store: DedupStore) => Promise<T>): Promise<T> {
    if (!this.#degraded) {
      try {
        const result = await op(this.#primary);
        if (!this.#degraded) this.#answeredAgain();
        return result;
      } catch (err) {
        if (!this.#o.isConnectionError(err)) {
          this.#o.onCommandError?.(err);
          throw err;
        }
        const now = this.#o.now();
        this.#failing(now);
        // A short blip is waited out: the caller hands the message back and it is retried on Redis.
        if (now - (this.#failingSince ?? now) < this.#o.degradeAfterMs) throw err;
        this.#degrade(err);
      }
    }
    return op(this.#secondary);
  }

  claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    return this.#run((s) => s.claim(hash, owner, leaseMs));
  }

  async complete(hash: string, ttlMs: number, first: DoneKind): Promise<void> {
    // Record in both: should Redis go away, the memory record answers this replica's duplicates.
    // While Redis answers, the mirror keeps only the window a fallback needs.
    await this.#secondary.complete(hash, this.#degraded ? ttlMs : Math.min(ttlMs, this.#o.mirrorTtlMs), first);
    await this.#run((s) => (s === this.#secondary ? Promise.resolve() : s.complete(hash, ttlMs, first)));
  }

  /** While degraded the gates are per replica: N replicas may send up to N heartbeats per token per interval. */
  heartbeat(hash: string, owner: string, intervalMs: number): Promise<HeartbeatGate> {
    return this.#run((s) => s.heartbeat(hash, owner, intervalMs));
  }

  restartHeartbeat(hash: string, owner: string, intervalMs: number): Promise<boolean> {
    return this.#run((s) => s.restartHeartbeat(hash, owner, intervalMs));
  }

  reopenHeartbeat(hash: string, owner: string): Promise<void> {
    return this.#run((s) => s.reopenHeartbeat(hash, owner));
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
    clearInterval(this.#watch);
    await Promise.all([this.#primary.close(), this.#secondary.close()]);
  }
}
