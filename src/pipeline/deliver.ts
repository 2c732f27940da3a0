/**
 * The delivery of one token, once its message is parsed and admitted. A terminal callback
 * (failure, success) claims the token's hash in the dedup store; a heartbeat passes the token's
 * heartbeat gate instead (one call per TASK_HEARTBEAT_MIN_INTERVAL_SECONDS, none once the token is
 * done). Then rate limit (the kind's limiter) → circuit breaker → the kind's SendTask* call, count
 * a failure of the message's own, decide (outcome.ts), and record the outcome in the store.
 */
import { randomUUID } from 'node:crypto';
import type { CallbackEvent } from '../core/event.js';
import { type CallbackKind, doneKindOf, KIND_RULES } from '../core/kinds.js';
import { countsAgainstMessage, type Evidence, type Outcome } from '../core/outcome.js';
import { shortHash } from '../core/secret.js';
import { type SendResult, withoutEcho } from '../core/sendResult.js';
import { resultLabel } from '../observability/metrics.js';
import { type DedupStore, isDoneAnswer } from '../state/dedup/store.js';
import type { RelayDeps, RelaySettings } from './relay.js';

/** The message's fate from evidence and the count of its own failures so far. */
export type Fate = (evidence: Evidence, ownFailures: number) => Outcome;

/** Attempts at recording an outcome in the dedup store, and the pause before the n-th retry (× n). */
const RECORD_ATTEMPTS = 4;
const RECORD_RETRY_MS = 500;

/** Outcomes after which every later copy of the token is a duplicate. */
export function isDone(o: Outcome): boolean {
  return o.kind === 'failed' || o.kind === 'succeeded' || o.kind === 'alreadyClosed' || o.kind === 'duplicate';
}

/**
 * A heartbeat's failures of its own are counted apart from its token's terminal callbacks (a
 * failing heartbeat must not use up the budget of the failure or success that follows).
 */
const heartbeatCounter = (hash: string) => `${hash}:heartbeat`;

/** TASK_HEARTBEAT_MIN_INTERVAL_SECONDS's default. */
export const DEFAULT_TASK_HEARTBEAT_MIN_INTERVAL_SECONDS = 10;
/** Without a heartbeat limiter of their own (tests, library use), heartbeats are not rate limited. */
const UNLIMITED = { acquire: async () => 0, mode: 'off' as const };
/** Without a heartbeat breaker of their own (tests, library use), heartbeats are not behind one. */
const UNGUARDED = { state: 'closed' as const, run: (call: () => Promise<SendResult>) => call() };

type DeliverySettings = Pick<
  RelaySettings,
  'visibilityTimeoutSeconds' | 'failureTtlSeconds' | 'dedupTtlSeconds' | 'taskHeartbeatMinIntervalSeconds'
>;
type DeliveryDeps = Pick<
  RelayDeps,
  'dedup' | 'limiter' | 'heartbeatLimiter' | 'breaker' | 'heartbeatBreaker' | 'metrics' | 'logger' | 'send'
>;
type ClaimHooks = { claimed: (claim: { hash: string; owner: string }) => void; settled: () => void };

export class Deliverer {
  readonly #s: DeliverySettings;
  readonly #d: DeliveryDeps;

  constructor(settings: DeliverySettings, deps: DeliveryDeps) {
    this.#s = settings;
    this.#d = deps;
  }

  deliver(event: CallbackEvent, hash: string, signal: AbortSignal, fate: Fate, hooks: ClaimHooks): Promise<Outcome> {
    return KIND_RULES[event.kind].terminal
      ? this.#terminal(event, hash, signal, fate, hooks)
      : this.#heartbeat(event, hash, signal, fate);
  }

  async #terminal(
    event: CallbackEvent,
    hash: string,
    signal: AbortSignal,
    fate: Fate,
    claimHooks: ClaimHooks,
  ): Promise<Outcome> {
    const { dedup } = this.#d;
    const owner = randomUUID();
    let claim: Awaited<ReturnType<DedupStore['claim']>>;
    try {
      claim = await dedup.claim(hash, owner, this.#s.visibilityTimeoutSeconds * 1000);
    } catch {
      return fate({ stage: 'dedup', claim: 'unavailable' }, 0);
    }
    if (isDoneAnswer(claim)) return fate({ stage: 'dedup', claim: 'done', first: claim.done }, 0);
    if (claim !== 'claimed') return fate({ stage: 'dedup', claim }, 0);
    claimHooks.claimed({ hash, owner });

    const evidence = await this.#call(event, signal);
    const outcome = fate(evidence, await this.#ownFailures(evidence, hash));

    claimHooks.settled();
    // A lost record would leave the claim to block the token's copies until its lease ends, then
    // cost one more call (answered TaskTimedOut); a lost release is undone by the lease expiring.
    await this.#record(
      hash,
      isDone(outcome)
        ? () => dedup.complete(hash, this.#s.dedupTtlSeconds * 1000, doneKindOf(event.kind, outcome))
        : () => dedup.release(hash, owner),
    );
    return outcome;
  }

  async #heartbeat(event: CallbackEvent, hash: string, signal: AbortSignal, fate: Fate): Promise<Outcome> {
    const { dedup } = this.#d;
    const owner = randomUUID();
    let gate: Awaited<ReturnType<DedupStore['heartbeat']>>;
    const intervalMs = (this.#s.taskHeartbeatMinIntervalSeconds ?? DEFAULT_TASK_HEARTBEAT_MIN_INTERVAL_SECONDS) * 1000;
    try {
      gate = await dedup.heartbeat(hash, owner, intervalMs);
    } catch {
      return fate({ stage: 'dedup', claim: 'unavailable' }, 0);
    }
    if (isDoneAnswer(gate)) return fate({ stage: 'dedup', claim: 'done', first: gate.done }, 0);
    if (gate === 'coalesced') return fate({ stage: 'dedup', claim: 'coalesced' }, 0);

    // The interval counts from the call's start, not from passing the gate (a wait in the limiter
    // would otherwise let two calls of one token fall inside one interval); a copy that took the
    // gate after ours expired calls instead of this one. If the store fails, the call goes.
    const starting = () => dedup.restartHeartbeat(hash, owner, intervalMs).catch(() => true);
    const evidence = await this.#call(event, signal, starting);
    const outcome = fate(evidence, await this.#ownFailures(evidence, heartbeatCounter(hash)));
    if (outcome.kind === 'alreadyClosed') {
      // TaskTimedOut: the token is closed, by something other than this relay's terminal callbacks.
      await this.#record(hash, () => dedup.complete(hash, this.#s.dedupTtlSeconds * 1000, 'unknown'));
    } else if (evidence.stage === 'intake') {
      // Never sent (interrupted, breaker open): the copy handed back may go before the interval
      // ends (if this fails, the gate expires). A call that was made keeps the gate for its
      // interval whatever the answer, so coalescing holds while Step Functions throttles.
      await dedup.reopenHeartbeat(hash, owner).catch(() => undefined);
    }
    return outcome;
  }

  async #ownFailures(evidence: Evidence, counter: string): Promise<number> {
    if (!countsAgainstMessage(evidence)) return 0;
    try {
      return await this.#d.dedup.recordFailure(counter, this.#s.failureTtlSeconds * 1000);
    } catch {
      // The store is away: count this failure alone rather than none, so a message that keeps
      // failing still reaches the DLQ once the store answers again.
      return 1;
    }
  }

  /** Tried again across a short blip (a failover). */
  async #record(hash: string, record: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await record();
        return;
      } catch (err) {
        if (attempt === RECORD_ATTEMPTS) {
          this.#d.logger.warn(
            { token_hash: shortHash(hash), err: { name: (err as Error)?.name } },
            'dedup store update failed',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RECORD_RETRY_MS * attempt));
      }
    }
  }

  /** The kind's rate limiter, breaker, the kind's call: what happened, as evidence. */
  async #call(event: CallbackEvent, signal: AbortSignal, starting?: () => Promise<boolean>): Promise<Evidence> {
    const { metrics } = this.#d;
    const kind: CallbackKind = event.kind;
    // Heartbeats have their own limiter and breaker: a role without states:SendTaskHeartbeat, or
    // throttled heartbeats, never open the breaker that gates terminal callbacks and intake.
    const own = KIND_RULES[kind].limiter === 'heartbeat';
    const limiter = own ? (this.#d.heartbeatLimiter ?? UNLIMITED) : this.#d.limiter;
    const breaker = own ? (this.#d.heartbeatBreaker ?? UNGUARDED) : this.#d.breaker;
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
    if (starting !== undefined && !(await starting())) return { stage: 'dedup', claim: 'coalesced' };
    const started = performance.now();
    // cockatiel turns half-open inside run(); a call let through while not closed is the probe.
    const probing = breaker.state !== 'closed';
    const result = await breaker.run(async () => withoutEcho(await this.#d.send(event), event));
    if (result === 'open') return { stage: 'intake', cause: 'breaker_open' };
    const label = result.ok ? 'ok' : resultLabel(result.errorName, result.httpStatus);
    metrics.sendCalls.inc({ result: label, kind });
    metrics.sendDuration.observe({ result: label, kind }, (performance.now() - started) / 1000);
    return { stage: 'send', result, probe: probing, kind };
  }
}
