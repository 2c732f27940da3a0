import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Admission } from '../admission/admission.js';
import type { SendResult } from '../aws/stepFunctions.js';
import { type CallbackEvent, type EventLimits, type ParseResult, parseEvent } from '../core/event.js';
import { type CallbackKind, doneKindOf } from '../core/kinds.js';
import { decide, type Outcome } from '../core/outcome.js';
import { shortHash, tokenHash } from '../core/secret.js';
import { originAttributes } from '../envelope/origin.js';
import type { Metrics } from '../observability/metrics.js';
import { queueName, tracer } from '../observability/telemetry.js';
import { producerLinks } from '../observability/traceContext.js';
import type { SendBreaker } from '../state/breaker.js';
import type { DedupStore } from '../state/dedup/store.js';
import type { Limiter } from '../state/rateLimit.js';
import { Deliverer, type Fate, isDone } from './deliver.js';
import { type DlqHealth, type Finished, Settler } from './settle.js';
import { VisibilityKeeper } from './visibility.js';

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
  /** TASK_HEARTBEAT_MIN_INTERVAL_SECONDS: at most one SendTaskHeartbeat per token per this. */
  taskHeartbeatMinIntervalSeconds?: number;
  /** `limits.kinds`: the kinds carried (CALLBACK_KINDS); absent: every kind. */
  limits: EventLimits;
}

export interface RelayDeps {
  sqs: SQSClient;
  /** The event's SendTask* call with its in-process retries; never throws. */
  send: (event: CallbackEvent) => Promise<SendResult>;
  dedup: DedupStore;
  /** Terminal callbacks' (failure, success) limiter: SFN_RATE_LIMIT_PER_SECOND. */
  limiter: Limiter;
  /** Heartbeats' own limiter: SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND. */
  heartbeatLimiter?: Limiter;
  /** Terminal callbacks' breaker: its state drives intake (IntakeControl). */
  breaker: SendBreaker;
  /**
   * Heartbeats' own breaker (same settings), which never drives intake: while it is open
   * heartbeats are handed back `breaker_open`; terminal callbacks are not affected.
   */
  heartbeatBreaker?: SendBreaker;
  metrics: Metrics;
  logger: Logger;
  /** The sender allowlist (src/admission/); absent: every sender admitted. */
  admission?: Pick<Admission, 'admit'> | undefined;
  now?: () => number;
  random?: () => number;
}

/** What the per-message path learned, before settling. */
type Processed = Pick<Finished, 'outcome' | 'hash' | 'kind'>;

/** A terminal delivery in flight in this process, and its kind. */
interface InFlight {
  delivery: Promise<Outcome>;
  kind: CallbackKind;
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
  readonly #deliverer: Deliverer;
  /** In-process coalescing: a second copy of a token waits for the first instead of racing it. */
  readonly #inflightTokens = new Map<string, InFlight>();
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
    this.#deliverer = new Deliverer(settings, deps);
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
    const visibility = new VisibilityKeeper(messages, ac, this.#s, {
      sqs: this.#d.sqs,
      dedup: this.#d.dedup,
      metrics: this.#d.metrics,
      now: this.#now,
    });
    try {
      const finished = await Promise.all(messages.map((m) => this.#traced(m, ac.signal, visibility)));
      // A visibility extension still on the wire must land before a hand-back, not after it.
      await visibility.stop();
      await this.#settler.settle(finished);
    } catch (err) {
      // Not reached by design (every step catches); if it is, the messages reappear after their
      // visibility timeout and are processed again, so nothing is lost.
      this.#d.logger.error({ err: { name: (err as Error)?.name } }, 'batch failed unexpectedly');
    } finally {
      await visibility.stop();
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
  async #traced(message: Message, signal: AbortSignal, visibility: VisibilityKeeper): Promise<Finished> {
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
    const processed = await context.with(ctx, () => this.#process(message, parsed, signal, visibility, fate));
    if (processed.hash !== undefined) span.setAttribute('sfn_relay.token_hash', shortHash(processed.hash));
    if (processed.kind !== undefined) span.setAttribute('sfn_relay.kind', processed.kind);
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
    visibility: VisibilityKeeper,
    fate: Fate,
  ): Promise<Processed> {
    // Who sent it is asked first: a refused sender's message never reaches Step Functions, and
    // its garbage is reported as what it is, a message from someone not allowed.
    const refused = await this.#d.admission?.admit(message, parsed);
    if (refused !== undefined) {
      return parsed.ok
        ? { outcome: fate(refused, 0), hash: tokenHash(parsed.event.taskToken), kind: parsed.event.kind }
        : { outcome: fate(refused, 0), hash: undefined, kind: parsed.kind };
    }
    if (!parsed.ok) {
      const outcome = fate({ stage: 'parse', reason: parsed.reason, detail: parsed.detail }, 0);
      return { outcome, hash: undefined, kind: parsed.kind };
    }
    const event = parsed.event;
    const hash = tokenHash(event.taskToken);
    const done = (outcome: Outcome): Processed => ({ outcome, hash, kind: event.kind });
    this.#logParsed(message, event, hash);

    // A copy of a token whose terminal callback is on its way in this process waits for it.
    for (let prior = this.#inflightTokens.get(hash); prior !== undefined; prior = this.#inflightTokens.get(hash)) {
      const before = await prior.delivery;
      // A copy that was itself a duplicate passes on the kind its store record named.
      if (isDone(before))
        return done({
          kind: 'duplicate',
          first: before.kind === 'duplicate' ? before.first : doneKindOf(prior.kind, before),
        });
      if (event.kind === 'heartbeat') break;
    }
    const delivery = this.#deliverer.deliver(event, hash, signal, fate, {
      claimed: (claim) => visibility.track(message, claim),
      settled: () => visibility.untrack(message),
    });
    // Heartbeats never close a token: nothing waits for them.
    if (event.kind === 'heartbeat') return done(await delivery);
    const entry = { delivery, kind: event.kind };
    this.#inflightTokens.set(hash, entry);
    try {
      return done(await delivery);
    } finally {
      if (this.#inflightTokens.get(hash) === entry) this.#inflightTokens.delete(hash);
    }
  }

  /** `error`, `cause` and `output` are sensitive in the Step Functions API model: debug level only. */
  #logParsed(message: Message, event: CallbackEvent, hash: string): void {
    if (!this.#d.logger.isLevelEnabled('debug')) return;
    const { taskToken: _token, ...fields } = event;
    this.#d.logger.debug(
      { message_id: message.MessageId, token_hash: shortHash(hash), ...fields },
      `${event.kind} event parsed`,
    );
  }
}
