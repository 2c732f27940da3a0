/**
 * The delivery of one token, once its message is parsed and admitted: claim the token's hash in the
 * dedup store, then rate limit → circuit breaker → SendTaskFailure, count a failure of the
 * message's own, decide (outcome.ts), and record the outcome in the store (complete or release).
 */
import { randomUUID } from 'node:crypto';
import type { FailureEvent } from '../core/event.js';
import { countsAgainstMessage, type Evidence, type Outcome } from '../core/outcome.js';
import { shortHash } from '../core/secret.js';
import { resultLabel } from '../observability/metrics.js';
import type { DedupStore } from '../state/dedup/store.js';
import type { RelayDeps, RelaySettings } from './relay.js';

/** The message's fate from evidence and the count of its own failures so far. */
export type Fate = (evidence: Evidence, ownFailures: number) => Outcome;

/** Attempts at recording an outcome in the dedup store, and the pause before the n-th retry (× n). */
const RECORD_ATTEMPTS = 4;
const RECORD_RETRY_MS = 500;

/** Outcomes after which every later copy of the token is a duplicate. */
export function isDone(o: Outcome): boolean {
  return o.kind === 'failed' || o.kind === 'alreadyClosed' || o.kind === 'duplicate';
}

type DeliverySettings = Pick<RelaySettings, 'visibilityTimeoutSeconds' | 'failureTtlSeconds' | 'dedupTtlSeconds'>;
type DeliveryDeps = Pick<RelayDeps, 'dedup' | 'limiter' | 'breaker' | 'metrics' | 'logger' | 'send'>;

export class Deliverer {
  readonly #s: DeliverySettings;
  readonly #d: DeliveryDeps;

  constructor(settings: DeliverySettings, deps: DeliveryDeps) {
    this.#s = settings;
    this.#d = deps;
  }

  async deliver(
    event: FailureEvent,
    hash: string,
    signal: AbortSignal,
    fate: Fate,
    claimHooks: { claimed: (claim: { hash: string; owner: string }) => void; settled: () => void },
  ): Promise<Outcome> {
    const { dedup, logger } = this.#d;
    const owner = randomUUID();
    let claim: Awaited<ReturnType<DedupStore['claim']>>;
    try {
      claim = await dedup.claim(hash, owner, this.#s.visibilityTimeoutSeconds * 1000);
    } catch {
      return fate({ stage: 'dedup', claim: 'unavailable' }, 0);
    }
    if (claim !== 'claimed') return fate({ stage: 'dedup', claim }, 0);
    claimHooks.claimed({ hash, owner });

    const evidence = await this.#call(event, signal);
    let ownFailures = 0;
    if (countsAgainstMessage(evidence)) {
      try {
        ownFailures = await dedup.recordFailure(hash, this.#s.failureTtlSeconds * 1000);
      } catch {
        // The store is away: count this failure alone rather than none, so a message that keeps
        // failing still reaches the DLQ once the store answers again.
        ownFailures = 1;
      }
    }
    const outcome = fate(evidence, ownFailures);

    claimHooks.settled();
    const record = isDone(outcome)
      ? () => dedup.complete(hash, this.#s.dedupTtlSeconds * 1000)
      : () => dedup.release(hash, owner);
    // Tried again across a short blip (a failover): a lost record would leave the claim to block
    // the token's copies until its lease ends, then cost one more call (answered TaskTimedOut); a
    // lost release is undone by the lease expiring.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await record();
        break;
      } catch (err) {
        if (attempt === RECORD_ATTEMPTS) {
          logger.warn(
            { token_hash: shortHash(hash), err: { name: (err as Error)?.name } },
            'dedup store update failed',
          );
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, RECORD_RETRY_MS * attempt));
      }
    }
    return outcome;
  }

  /** Rate limit, breaker, SendTaskFailure: what happened, as evidence. */
  async #call(event: FailureEvent, signal: AbortSignal): Promise<Evidence> {
    const { limiter, breaker, metrics } = this.#d;
    try {
      const waited = await limiter.acquire(signal);
      if (waited > 0) {
        metrics.rateLimitWaits.inc();
        metrics.rateLimitWaitSeconds.inc(waited / 1000);
      }
    } catch {
      // The limiter only throws when the batch was interrupted before the call.
      return { stage: 'intake', cause: 'interrupted' };
    }
    if (signal.aborted) return { stage: 'intake', cause: 'interrupted' };
    const started = performance.now();
    // cockatiel turns half-open inside run(); a call let through while not closed is the probe.
    const probing = breaker.state !== 'closed';
    const result = await breaker.run(() => this.#d.send(event));
    if (result === 'open') return { stage: 'intake', cause: 'breaker_open' };
    const label = result.ok ? 'ok' : resultLabel(result.errorName, result.httpStatus);
    metrics.sendCalls.inc({ result: label });
    metrics.sendDuration.observe({ result: label }, (performance.now() - started) / 1000);
    return { stage: 'send', result, probe: probing };
  }
}
