/**
 * The gate in front of every `SendTaskFailure` call. `rate-limiter-flexible` keeps the count: in
 * Redis (one atomic script per call, one-second windows) when Redis is configured, so all replicas
 * together stay under the account's SendTask* quota; else in this process.
 *
 * It never degrades silently. When Redis cannot be used (unreachable, or it refuses the command),
 * the count moves into this process — calls go on, each replica at the configured rate, so N
 * replicas may together send N × the rate — and that is said: a warning with the effective limit,
 * `sfn_relay_rate_limiter_mode{mode="local"}`, and `/readyz` `rate_limit`. After a while it tries
 * Redis again and says so when it is back. (Its own insurance limiter would do the same switch
 * without a word, so it is not used.)
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../core/log.js';
import type { RedisClient } from './redis.js';
import { isConnectionError } from './redisErrors.js';
import type { RedisStatus } from './redisStatus.js';

export type LimiterMode = 'shared' | 'local' | 'off';

export interface Limiter {
  /** Resolves with the milliseconds waited; rejects with an AbortError when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<number>;
  readonly mode: LimiterMode;
}

/** The terminal callbacks' key (failure and success share it, as before kinds); heartbeats pass their own. */
const KEY = 'send-task';
/** How long the count stays in process after Redis failed, before Redis is tried again. */
const LOCAL_FOR_MS = 5000;

export interface LimiterOptions {
  perSecond: number;
  /** The count's key in Redis (default `send-task`: terminal callbacks). */
  key?: string;
  /** Names the limiter in its log lines (default: none, the terminal callbacks' limiter). */
  name?: string;
  redis: RedisClient | undefined;
  keyPrefix: string;
  logger: Logger;
  redisStatus?: RedisStatus;
  onMode?: (mode: LimiterMode) => void;
  random?: () => number;
  now?: () => number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createLimiter(o: LimiterOptions): Limiter {
  if (o.perSecond <= 0) {
    o.onMode?.('off');
    return { acquire: async () => 0, mode: 'off' };
  }
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const key = o.key ?? KEY;
  const named = o.name === undefined ? '' : `${o.name} `;
  const memory = new RateLimiterMemory({ points: o.perSecond, duration: 1, keyPrefix: `${o.keyPrefix}rl` });
  const shared: RateLimiterAbstract | undefined =
    o.redis === undefined
      ? undefined
      : new RateLimiterRedis({
          storeClient: o.redis,
          points: o.perSecond,
          duration: 1,
          keyPrefix: `${o.keyPrefix}rl`,
          rejectIfRedisNotReady: true,
        });
  let mode: LimiterMode = shared === undefined ? 'local' : 'shared';
  let retryAt = 0;
  o.onMode?.(mode);

  const setMode = (next: LimiterMode, err?: unknown) => {
    if (next === mode) return;
    mode = next;
    o.onMode?.(mode);
    if (next === 'local') {
      o.logger.warn(
        {
          err: { name: (err as Error)?.name, message: (err as Error)?.message },
          per_replica_per_second: o.perSecond,
          ...(o.name === undefined ? {} : { limiter: o.name }),
        },
        `shared ${named}rate limit unavailable: each replica now limits itself to ${o.perSecond}/s, so N replicas may send up to N × ${o.perSecond}/s`,
      );
    } else {
      o.logger.info({ per_second: o.perSecond }, `shared ${named}rate limit in Redis again`);
    }
  };

  /** One consume: in Redis while it works, else in process; rejects only with a RateLimiterRes (wait). */
  const consume = async (): Promise<void> => {
    if (shared !== undefined && (mode === 'shared' || now() >= retryAt)) {
      try {
        await shared.consume(key, 1);
        setMode('shared');
        return;
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          setMode('shared');
          throw err;
        }
        if (!isConnectionError(err)) o.redisStatus?.commandError('rate_limit', err);
        retryAt = now() + LOCAL_FOR_MS;
        setMode('local', err);
      }
    }
    await memory.consume(key, 1);
  };

  return {
    get mode() {
      return mode;
    },
    async acquire(signal?: AbortSignal): Promise<number> {
      let waited = 0;
      for (;;) {
        signal?.throwIfAborted();
        try {
          await consume();
          return waited;
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) throw err;
          // Spread the waiters over the next window instead of waking them all at its start.
          const ms = err.msBeforeNext + Math.floor(random() * 50);
          await sleep(ms, signal);
          waited += ms;
        }
      }
    },
  };
}
