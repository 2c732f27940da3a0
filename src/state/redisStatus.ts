/**
 * What the relay knows about Redis beyond "up or down": command errors (a bug or a configuration
 * error, never a reason to degrade silently) are each logged at error level (once a minute per
 * code), counted (`sfn_relay_redis_command_errors_total{code}`) and shown on `/readyz`.
 */
import type { Logger } from '../core/log.js';
import type { Metrics } from '../observability/metrics.js';
import { redisErrorCode } from './redisErrors.js';
import type { EvictionReport } from './redisEviction.js';

const LOG_EVERY_MS = 60_000;

export class RedisStatus {
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #now: () => number;
  readonly #lastLogged = new Map<string, number>();
  #last: { code: string; at: string; where: string } | undefined;
  #eviction: EvictionReport | undefined;

  constructor(logger: Logger, metrics: Metrics, now: () => number = Date.now) {
    this.#logger = logger;
    this.#metrics = metrics;
    this.#now = now;
  }

  /** The last command error, for `/readyz`. */
  get lastCommandError(): { code: string; at: string; where: string } | undefined {
    return this.#last;
  }

  /** What the server does with the relay's records when full (redisEviction.ts), for `/readyz`. */
  get eviction(): EvictionReport | undefined {
    return this.#eviction;
  }

  /** One line when first read and whenever the answer changes (a reconnect may reach another server). */
  setEviction(r: EvictionReport): void {
    const before = this.#eviction;
    if (before !== undefined && before.policy === r.policy && before.verdict === r.verdict) return;
    this.#eviction = r;
    const fields = { policy: r.policy ?? null, verdict: r.verdict };
    if (r.verdict === 'keeps') this.#logger.info(fields, `redis eviction: ${r.meaning}`);
    else this.#logger.warn(fields, `redis eviction: ${r.meaning}`);
  }

  commandError(where: 'dedup' | 'rate_limit', err: unknown): void {
    const code = redisErrorCode(err);
    const label = /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(code) ? code : 'other';
    const now = this.#now();
    this.#metrics.redisCommandErrors.inc({ code: label, where });
    this.#last = { code: label, at: new Date(now).toISOString(), where };
    if (now - (this.#lastLogged.get(label) ?? 0) >= LOG_EVERY_MS) {
      this.#lastLogged.set(label, now);
      this.#logger.error(
        { err: { name: code, message: String((err as Error)?.message ?? '').slice(0, 300) }, where },
        'redis refused a command: a bug or a configuration error, not an outage; the relay does not fall back for it',
      );
    }
  }
}
