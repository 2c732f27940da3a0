import type { Redis } from 'ioredis';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Gate in front of every `SendTaskFailure` call. */
export interface Limiter {
  /** Resolves with the milliseconds waited; rejects with an AbortError when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<number>;
}

const KEY = 'send-task';

export interface LimiterOptions {
  perSecond: number;
  redis: Redis | undefined;
  keyPrefix: string;
  random?: () => number;
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

/**
 * `rate-limiter-flexible` keeps the count: in Redis (one atomic script per call) when REDIS_URL is
 * set, so all replicas together stay under the account's SendTask* quota, else in this process.
 * When Redis does not answer, its insurance limiter (in process, same rate) takes over, so an
 * outage degrades to per-replica limiting instead of stopping calls. The window is one second.
 */
export function createLimiter(o: LimiterOptions): Limiter {
  if (o.perSecond <= 0) return { acquire: async () => 0 };
  const random = o.random ?? Math.random;
  const memory = new RateLimiterMemory({ points: o.perSecond, duration: 1, keyPrefix: `${o.keyPrefix}rl` });
  const limiter: RateLimiterAbstract =
    o.redis === undefined
      ? memory
      : new RateLimiterRedis({
          storeClient: o.redis,
          points: o.perSecond,
          duration: 1,
          keyPrefix: `${o.keyPrefix}rl`,
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory,
        });
  return {
    async acquire(signal?: AbortSignal): Promise<number> {
      let waited = 0;
      for (;;) {
        signal?.throwIfAborted();
        try {
          await limiter.consume(KEY, 1);
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
