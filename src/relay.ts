/**
 * Wires one batch of messages through the steps: parse → deduplicate → rate limit → SendTaskFailure
 * → decide (outcome.ts) → settle (settle.ts), with the batch's visibility heartbeat (heartbeat.ts).
 * Every side effect comes in through `RelayDeps`, so tests can swap any of them.
 */
import { randomUUID } from 'node:crypto';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Admission } from './admission/admission.js';
import type { SendBreaker } from './breaker.js';
import type { DedupStore } from './dedup/store.js';
import { originAttributes } from './envelope/origin.js';
import { type EventLimits, type FailureEvent, type ParseResult, parseEvent } from './event.js';
import { Heartbeat } from './heartbeat.js';
import type { Metrics } from './metrics.js';
import { resultLabel } from './metrics.js';
import { countsAgainstMessage, decide, type Evidence, type Outcome } from './outcome.js';
import type { Limiter } from './rateLimit.js';
import { shortHash, tokenHash } from './secret.js';
import { type DlqHealth, type Finished, Settler } from './settle.js';
import type { SendResult } from './stepFunctions.js';
import { queueName, tracer } from './telemetry.js';
import { producerLinks } from './traceContext.js';

export interface RelaySettings {
  sourceQueueUrl: string;
  dlqUrl: string;
  /** The DLQ's MaximumMessageSize, when start-up could read it. */
  dlqMaxMessageBytes?: number;
  /** The DLQ is FIFO (start-up read it; else the URL's `.fifo`). */
  dlqFifo?: boolean;
  visibilityTimeoutSeconds: number;
  heartbeatIntervalSeconds: number;
  maxVisibilityExtensionSeconds: number;
  maxReceives: number;
  retryBaseDelaySeconds: number;
  retryMaxDelaySeconds: number;
  dedupTtlSeconds: number;
  /** How long a token's count of failures of its own is kept (the source queue's retention). */
  failureTtlSeconds: number;
  limits: EventLimits;
}

export interface RelayDeps {
  sqs: SQSClient;
  /** One SendTaskFailure call with its in-process retries; never throws. */
  send: (event: FailureEvent) => Promise<SendResult>;
  dedup: DedupStore;
  limiter: Limiter;
  breaker: SendBreaker;
  metrics: Metrics;
  logger: Logger;
  /** The sender allowlist (src/admission/); absent: every sender admitted. */
  admission?: Pick<Admission, 'admit'> | undefined;
  now?: () => number;
  random?: () => number;
}

/** The message's fate from evidence and the count of its own failures so far. */
type Fate = (evidence: Evidence, ownFailures: number) => Outcome;

/** What the per-message path learned, before settling. */
type Processed = Pick<Finished, 'outcome' | 'hash'>;

/** Attempts at recording an outcome in the dedup store, and the pause before the n-th retry (× n). */
const RECORD_ATTEMPTS = 4;
const RECORD_RETRY_MS = 500;

/** Outcomes after which every later copy of the token is a duplicate. */
function isDone(o: Outcome): boolean {
  return o.kind === 'failed' || o.kind === 'alreadyClosed' || o.kind === 'duplicate';
}

function receiveCountOf(m: Message): number {
  const n = Number(m.Attributes?.ApproximateReceiveCount);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

export class Relay {
  readonly #s: RelaySettings;
  readonly #d: RelayDeps;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #settler: Settler;
  /** In-process coalescing: a second copy of a token waits for the first instead of racing it. */
  readonly #inflightTokens = new Map<string, Promise<Outcome>>();
  readonly #batches = new Set<AbortController>();
  readonly #sourceName: string;
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(settings: RelaySettings, deps: RelayDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    this.#sourceName = queueName(settings.sourceQueueUrl);
    this.#settler = new Settler(settings, {
      sqs: deps.sqs,
      metrics: deps.metrics,
      logger: deps.logger,
      now: this.#now,
    });
  }

  /** Messages received and not yet settled. */
  get inFlight(): number {
    return this.#active;
  }

  get dlqHealth(): DlqHealth {
    return this.#settler.dlqHealth;
  }

  /** Handles one receive batch to the end; never throws. */
  async handleBatch(messages: Message[]): Promise<void> {
    const ac = new AbortController();
    this.#batches.add(ac);
    this.#active += messages.length;
    this.#d.metrics.received.inc(messages.length);
    this.#d.metrics.inFlight.inc(messages.length);
    const heartbeat = new Heartbeat(messages, ac, this.#s, {
      sqs: this.#d.sqs,
      dedup: this.#d.dedup,
      metrics: this.#d.metrics,
      now: this.#now,
    });
    try {
      const finished = await Promise.all(messages.map((m) => this.#traced(m, ac.signal, heartbeat)));
      // A visibility extension still on the wire must land before a hand-back, not after it.
      await heartbeat.stop();
      await this.#settler.settle(finished);
    } catch (err) {
      // Not reached by design (every step catches); if it is, the messages reappear after their
      // visibility timeout and are processed again, so nothing is lost.
      this.#d.logger.error({ err: { name: (err as Error)?.name } }, 'batch failed unexpectedly');
    } finally {
      await heartbeat.stop();
      this.#batches.delete(ac);
      this.#active -= messages.length;
      this.#d.metrics.inFlight.dec(messages.length);
      if (this.#active === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /**
   * Stops starting Step Functions calls for messages in flight: those not yet sent are handed back
   * with visibility 0. Calls already on the wire finish (bounded by the client's timeouts), because
   * a call cut off after Step Functions acted on it would be sent a second time by another replica.
   */
  interrupt(): void {
    for (const ac of this.#batches) ac.abort(new Error('interrupted'));
  }

  /** Resolves when no message is in flight. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * One CONSUMER span per message, named `process <queue>`, linked (not parented) to the producer's
   * context: the messaging convention for batch receive. Everything the message causes runs inside.
   */
  async #traced(message: Message, signal: AbortSignal, heartbeat: Heartbeat): Promise<Finished> {
    const receiveCount = receiveCountOf(message);
    // Parsed before the span starts: a CloudEvent's trace context is one of its links.
    const parsed = parseEvent(message.Body, this.#s.limits);
    const origin = parsed.origin;
    const span = tracer().startSpan(
      `process ${this.#sourceName}`,
      {
        kind: SpanKind.CONSUMER,
        links: producerLinks(message, origin?.cloudEvent),
        attributes: {
          'messaging.system': 'aws_sqs',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': this.#sourceName,
          'messaging.message.id': message.MessageId ?? '',
          'aws.sqs.queue.url': this.#s.sourceQueueUrl,
          'sfn_relay.receive_count': receiveCount,
        },
      },
      ROOT_CONTEXT,
    );
    // Built only for a span that records: with tracing off, no per-message work for it.
    if (span.isRecording()) {
      const sender = message.Attributes?.SenderId;
      if (sender !== undefined) span.setAttribute('sfn_relay.sender_id', sender);
      if (origin !== undefined) span.setAttributes(originAttributes(origin));
    }
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    const fate = this.#fate(receiveCount);
    const processed = await context.with(ctx, () => this.#process(message, parsed, signal, heartbeat, fate));
    if (processed.hash !== undefined) span.setAttribute('sfn_relay.token_hash', shortHash(processed.hash));
    return { ...processed, origin, message, receiveCount, fate: (e) => fate(e, 0), span, ctx };
  }

  /** The message's fate from evidence, with its own failures counted so far. */
  #fate(receiveCount: number): Fate {
    return (evidence, ownFailures) =>
      decide(evidence, {
        receiveCount,
        ownFailures,
        maxReceives: this.#s.maxReceives,
        retryBaseDelaySeconds: this.#s.retryBaseDelaySeconds,
        retryMaxDelaySeconds: this.#s.retryMaxDelaySeconds,
        visibilityTimeoutSeconds: this.#s.visibilityTimeoutSeconds,
        random: this.#random,
      });
  }

  async #process(
    message: Message,
    parsed: ParseResult,
    signal: AbortSignal,
    heartbeat: Heartbeat,
    fate: Fate,
  ): Promise<Processed> {
    // Who sent it is asked first: a refused sender's message never reaches Step Functions, and
    // its garbage is reported as what it is, a message from someone not allowed.
    const refused = await this.#d.admission?.admit(message, parsed);
    if (refused !== undefined) {
      return { outcome: fate(refused, 0), hash: parsed.ok ? tokenHash(parsed.event.taskToken) : undefined };
    }
    if (!parsed.ok) {
      const outcome = fate({ stage: 'parse', reason: parsed.reason, detail: parsed.detail }, 0);
      return { outcome, hash: undefined };
    }
    const hash = tokenHash(parsed.event.taskToken);
    const done = (outcome: Outcome): Processed => ({ outcome, hash });
    // `error` and `cause` are sensitive in the Step Functions API model: debug level only.
    this.#d.logger.debug(
      {
        message_id: message.MessageId,
        token_hash: shortHash(hash),
        error: parsed.event.error,
        cause: parsed.event.cause,
      },
      'failure event parsed',
    );

    for (let prior = this.#inflightTokens.get(hash); prior !== undefined; prior = this.#inflightTokens.get(hash)) {
      if (isDone(await prior)) return done({ kind: 'duplicate' });
    }
    const delivery = this.#deliver(parsed.event, hash, signal, fate, {
      claimed: (claim) => heartbeat.track(message, claim),
      settled: () => heartbeat.untrack(message),
    });
    this.#inflightTokens.set(hash, delivery);
    try {
      return done(await delivery);
    } finally {
      if (this.#inflightTokens.get(hash) === delivery) this.#inflightTokens.delete(hash);
    }
  }

  async #deliver(
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
