/**
 * Wires one batch of messages through the steps: parse → deduplicate → rate limit → SendTaskFailure
 * → decide (outcome.ts) → settle (delete | DLQ then delete | hand back). Every side effect comes in
 * through `RelayDeps`, so tests can swap any of them.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Context, context, ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SendBreaker } from './breaker.js';
import { chunkEntries, deadLetterEntry } from './deadLetter.js';
import type { DedupStore } from './dedup/store.js';
import { type EventLimits, type FailureEvent, parseEvent } from './event.js';
import type { Metrics } from './metrics.js';
import { resultLabel } from './metrics.js';
import { decide, type Evidence, type Outcome } from './outcome.js';
import type { Limiter } from './rateLimit.js';
import { shortHash, tokenHash } from './secret.js';
import type { SendResult } from './stepFunctions.js';
import { endWithError, queueName, tracer } from './telemetry.js';
import { producerLinks, traceContextAttributes } from './traceContext.js';

export interface RelaySettings {
  sourceQueueUrl: string;
  dlqUrl: string;
  visibilityTimeoutSeconds: number;
  heartbeatIntervalSeconds: number;
  maxVisibilityExtensionSeconds: number;
  maxReceives: number;
  retryBaseDelaySeconds: number;
  retryMaxDelaySeconds: number;
  dedupTtlSeconds: number;
  limits: EventLimits;
}

export interface RelayDeps {
  sqs: SQSClient;
  /** One SendTaskFailure call with the SDK's retries; never throws. */
  send: (event: FailureEvent) => Promise<SendResult>;
  dedup: DedupStore;
  limiter: Limiter;
  breaker: SendBreaker;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
  random?: () => number;
}

interface Finished {
  message: Message;
  /** ApproximateReceiveCount, read once. */
  receiveCount: number;
  outcome: Outcome;
  hash: string | undefined;
  envelope: string | undefined;
}

/** A finished message with its CONSUMER span, still open until the outcome is applied. */
interface Traced extends Finished {
  span: Span;
  ctx: Context;
}

/** Outcomes after which every later copy of the token is a duplicate. */
function isDone(o: Outcome): boolean {
  return o.kind === 'failed' || o.kind === 'alreadyClosed' || o.kind === 'duplicate';
}

const METRIC_OUTCOME: Record<Outcome['kind'], string> = {
  failed: 'failed',
  alreadyClosed: 'already_closed',
  duplicate: 'duplicate',
  deadLetter: 'dead_lettered',
  retryLater: 'retry_later',
};

function reasonOf(o: Outcome): string {
  if (o.kind === 'deadLetter') return o.reason;
  if (o.kind === 'retryLater') return o.cause;
  return '';
}

function numberAttribute(m: Message, name: string): number | undefined {
  const raw = m.Attributes?.[name as keyof NonNullable<Message['Attributes']>];
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

export class Relay {
  readonly #s: RelaySettings;
  readonly #d: RelayDeps;
  readonly #now: () => number;
  readonly #random: () => number;
  /** In-process coalescing: a second copy of a token waits for the first instead of racing it. */
  readonly #inflightTokens = new Map<string, Promise<Outcome>>();
  readonly #batches = new Set<AbortController>();
  readonly #sourceName: string;
  readonly #dlqName: string;
  #active = 0;
  #idle: (() => void)[] = [];

  constructor(settings: RelaySettings, deps: RelayDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    this.#sourceName = queueName(settings.sourceQueueUrl);
    this.#dlqName = queueName(settings.dlqUrl);
  }

  /** Messages received and not yet settled. */
  get inFlight(): number {
    return this.#active;
  }

  /** Handles one receive batch to the end; never throws. */
  async handleBatch(messages: Message[]): Promise<void> {
    const ac = new AbortController();
    this.#batches.add(ac);
    this.#active += messages.length;
    this.#d.metrics.received.inc(messages.length);
    this.#d.metrics.inFlight.inc(messages.length);
    const pending = new Map<Message, { hash: string; owner: string } | undefined>(messages.map((m) => [m, undefined]));
    const stopHeartbeat = this.#startHeartbeat(messages, pending, ac);
    try {
      const finished = await Promise.all(
        messages.map((m) =>
          this.#traced(m, ac.signal, (claim) => pending.set(m, claim)).finally(() => pending.delete(m)),
        ),
      );
      stopHeartbeat();
      await this.#settle(finished);
    } catch (err) {
      // Not reached by design (every step catches); if it is, the messages reappear after their
      // visibility timeout and are processed again, so nothing is lost.
      this.#d.logger.error({ err: { name: (err as Error)?.name } }, 'batch failed unexpectedly');
    } finally {
      stopHeartbeat();
      this.#batches.delete(ac);
      this.#active -= messages.length;
      this.#d.metrics.inFlight.dec(messages.length);
      if (this.#active === 0) for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /**
   * Stops starting Step Functions calls for messages in flight: those not yet sent are handed back
   * with visibility 0. Calls already on the wire finish (bounded by the SDK timeouts), because a
   * call cut off after Step Functions acted on it would be sent a second time by another replica.
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
   * Keeps the batch invisible while any of it waits on retries or the rate limiter (finished
   * messages too: they are settled together, and must not reappear meanwhile), and keeps the dedup
   * claims of the pending ones alive. Up to MAX_VISIBILITY_EXTENSION_SECONDS; past that the pending
   * messages are interrupted and handed back, so a stuck call cannot hold a message forever.
   */
  #startHeartbeat(
    messages: Message[],
    pending: Map<Message, { hash: string; owner: string } | undefined>,
    ac: AbortController,
  ): () => void {
    const started = this.#now();
    const { visibilityTimeoutSeconds: vis, heartbeatIntervalSeconds, maxVisibilityExtensionSeconds } = this.#s;
    const timer = setInterval(() => {
      const elapsed = (this.#now() - started) / 1000;
      if (elapsed + vis > maxVisibilityExtensionSeconds) {
        ac.abort(new Error('visibility extension cap reached'));
        clearInterval(timer);
        return;
      }
      this.#d.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#s.sourceQueueUrl,
            Entries: messages.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.ReceiptHandle,
              VisibilityTimeout: vis,
            })),
          }),
        )
        .catch(() => this.#d.metrics.sqsErrors.inc({ operation: 'heartbeat' }));
      for (const claim of pending.values()) {
        if (claim !== undefined) {
          this.#d.dedup.claim(claim.hash, claim.owner, vis * 1000).catch(() => undefined);
        }
      }
    }, heartbeatIntervalSeconds * 1000);
    return () => clearInterval(timer);
  }

  /**
   * One CONSUMER span per message, named `process <queue>`, linked (not parented) to the producer's
   * context: the messaging convention for batch receive. Everything the message causes runs inside.
   */
  async #traced(
    message: Message,
    signal: AbortSignal,
    onClaim: (claim: { hash: string; owner: string }) => void,
  ): Promise<Traced> {
    const receiveCount = numberAttribute(message, 'ApproximateReceiveCount') ?? 1;
    const span = tracer().startSpan(
      `process ${this.#sourceName}`,
      {
        kind: SpanKind.CONSUMER,
        links: producerLinks(message),
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
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    const finished = await context.with(ctx, () => this.#process(message, receiveCount, signal, onClaim));
    if (finished.hash !== undefined) span.setAttribute('sfn_relay.token_hash', shortHash(finished.hash));
    return { ...finished, span, ctx };
  }

  async #process(
    message: Message,
    receiveCount: number,
    signal: AbortSignal,
    onClaim: (claim: { hash: string; owner: string }) => void,
  ): Promise<Finished> {
    const fate = (evidence: Evidence): Outcome =>
      decide(evidence, {
        receiveCount,
        maxReceives: this.#s.maxReceives,
        retryBaseDelaySeconds: this.#s.retryBaseDelaySeconds,
        retryMaxDelaySeconds: this.#s.retryMaxDelaySeconds,
        visibilityTimeoutSeconds: this.#s.visibilityTimeoutSeconds,
        random: this.#random,
      });

    const parsed = parseEvent(message.Body, this.#s.limits);
    if (!parsed.ok) {
      return {
        message,
        receiveCount,
        outcome: fate({ stage: 'parse', reason: parsed.reason, detail: parsed.detail }),
        hash: undefined,
        envelope: undefined,
      };
    }
    const hash = tokenHash(parsed.event.taskToken);
    const done = (outcome: Outcome): Finished => ({ message, receiveCount, outcome, hash, envelope: parsed.envelope });
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
    const delivery = this.#deliver(parsed.event, hash, signal, fate, onClaim);
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
    fate: (e: Evidence) => Outcome,
    onClaim: (claim: { hash: string; owner: string }) => void,
  ): Promise<Outcome> {
    const { dedup, limiter, breaker, metrics, logger } = this.#d;
    const owner = randomUUID();
    let claim: Awaited<ReturnType<DedupStore['claim']>>;
    try {
      claim = await dedup.claim(hash, owner, this.#s.visibilityTimeoutSeconds * 1000);
    } catch {
      return fate({ stage: 'dedup', claim: 'unavailable' });
    }
    if (claim !== 'claimed') return fate({ stage: 'dedup', claim });
    onClaim({ hash, owner });

    let outcome: Outcome;
    try {
      const waited = await limiter.acquire(signal);
      if (waited > 0) {
        metrics.rateLimitWaits.inc();
        metrics.rateLimitWaitSeconds.inc(waited / 1000);
      }
      const started = performance.now();
      // cockatiel turns half-open inside run(); a call let through while not closed is the probe.
      const probing = breaker.state !== 'closed';
      const result = await breaker.run(() => this.#d.send(event));
      if (result === 'open') {
        outcome = fate({ stage: 'intake', cause: 'breaker_open' });
      } else {
        const label = result.ok ? 'ok' : resultLabel(result.errorName, result.httpStatus);
        metrics.sendCalls.inc({ result: label });
        metrics.sendDuration.observe({ result: label }, (performance.now() - started) / 1000);
        outcome = fate({ stage: 'send', result, probe: probing });
      }
    } catch {
      // The limiter only throws when the batch was interrupted before the call.
      outcome = fate({ stage: 'intake', cause: 'interrupted' });
    }

    try {
      if (isDone(outcome)) {
        await dedup.complete(hash, this.#s.dedupTtlSeconds * 1000);
      } else {
        await dedup.release(hash, owner);
      }
    } catch (err) {
      // A lost record only costs a later duplicate one more call (answered TaskTimedOut); a lost
      // release is undone by the lease expiring.
      logger.warn({ token_hash: shortHash(hash), err: { name: (err as Error)?.name } }, 'dedup store update failed');
    }
    return outcome;
  }

  /** Applies the outcomes: DLQ sends first, then deletes, and hand-backs with their delays. */
  async #settle(finished: Traced[]): Promise<void> {
    const { metrics } = this.#d;
    const now = this.#now();
    const toDelete: Traced[] = [];
    const toHandBack: { f: Traced; delay: number }[] = [];
    const toDeadLetter: Traced[] = [];
    for (const f of finished) {
      if (f.outcome.kind === 'retryLater') toHandBack.push({ f, delay: f.outcome.delaySeconds });
      else if (f.outcome.kind === 'deadLetter') toDeadLetter.push(f);
      else toDelete.push(f);
    }

    if (toDeadLetter.length > 0) {
      // A PRODUCER span per DLQ message; its context goes into the DLQ message, so a redrive
      // continues the same trace.
      const sendSpans = toDeadLetter.map((f) =>
        tracer().startSpan(
          `send ${this.#dlqName}`,
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              'messaging.system': 'aws_sqs',
              'messaging.operation.type': 'send',
              'messaging.operation.name': 'send',
              'messaging.destination.name': this.#dlqName,
              'aws.sqs.queue.url': this.#s.dlqUrl,
            },
          },
          f.ctx,
        ),
      );
      const entries = toDeadLetter.map((f, i) =>
        this.#deadLetterEntry(
          String(i),
          f,
          now,
          sendSpans[i] === undefined ? {} : traceContextAttributes(trace.setSpan(f.ctx, sendSpans[i])),
        ),
      );
      const sent = await this.#sendToDlq(entries);
      toDeadLetter.forEach((f, i) => {
        const span = sendSpans[i];
        if (sent.has(String(i))) {
          span?.end();
          toDelete.push(f);
        } else {
          if (span !== undefined) endWithError(span, 'dlq_send_failed');
          // The DLQ did not take it: keep the message in the source queue and try again later.
          toHandBack.push({ f, delay: this.#s.retryBaseDelaySeconds });
        }
      });
    }

    const deleted = await this.#deleteAll(toDelete.map((f) => f.message));
    await this.#handBackAll(toHandBack.map(({ f, delay }) => ({ message: f.message, delay })));

    for (const f of finished) {
      const outcomeLabel = METRIC_OUTCOME[f.outcome.kind];
      const reason = reasonOf(f.outcome);
      metrics.finished.inc({ outcome: outcomeLabel, reason });
      const sent = numberAttribute(f.message, 'SentTimestamp');
      if (sent !== undefined) metrics.lag.observe({ outcome: outcomeLabel }, Math.max(0, now - sent) / 1000);
      context.with(f.ctx, () => this.#logFinished(f, outcomeLabel, reason, deleted.has(f.message)));
      f.span.setAttribute('sfn_relay.outcome', outcomeLabel);
      if (reason === '') f.span.end();
      else {
        f.span.setAttribute('sfn_relay.reason', reason);
        endWithError(f.span, reason);
      }
    }
  }

  #deadLetterEntry(
    id: string,
    f: Finished,
    now: number,
    traceAttributes: Record<string, MessageAttributeValue>,
  ): SendMessageBatchRequestEntry {
    const outcome = f.outcome as Extract<Outcome, { kind: 'deadLetter' }>;
    const first = numberAttribute(f.message, 'ApproximateFirstReceiveTimestamp');
    return deadLetterEntry(
      id,
      f.message,
      {
        reason: outcome.reason,
        detail: outcome.detail,
        sourceMessageId: f.message.MessageId ?? '',
        receiveCount: f.receiveCount,
        firstReceivedAt: first === undefined ? undefined : new Date(first).toISOString(),
        deadLetteredAt: new Date(now).toISOString(),
        ...(f.hash === undefined ? {} : { tokenHash: shortHash(f.hash) }),
      },
      traceAttributes,
    );
  }

  /** Returns the ids of the entries the DLQ accepted. */
  async #sendToDlq(entries: SendMessageBatchRequestEntry[]): Promise<Set<string>> {
    const accepted = new Set<string>();
    // 256 KiB per batch request is the SQS limit on every queue; stay under it with room for headers.
    for (const group of chunkEntries(entries, 250_000)) {
      try {
        const out = await this.#d.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.#s.dlqUrl, Entries: group }));
        for (const ok of out.Successful ?? []) if (ok.Id !== undefined) accepted.add(ok.Id);
        if ((out.Failed ?? []).length > 0) this.#d.metrics.sqsErrors.inc({ operation: 'dlq_send' });
      } catch (err) {
        this.#d.metrics.sqsErrors.inc({ operation: 'dlq_send' });
        this.#d.logger.error({ err: { name: (err as Error)?.name } }, 'sending to the DLQ failed');
      }
    }
    return accepted;
  }

  /** Returns the messages that were deleted. */
  async #deleteAll(messages: Message[]): Promise<Set<Message>> {
    const deleted = new Set<Message>();
    for (let i = 0; i < messages.length; i += 10) {
      const group = messages.slice(i, i + 10);
      try {
        const out = await this.#d.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.#s.sourceQueueUrl,
            Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        for (const ok of out.Successful ?? []) {
          const m = group[Number(ok.Id)];
          if (m !== undefined) deleted.add(m);
        }
        if ((out.Failed ?? []).length > 0) this.#d.metrics.sqsErrors.inc({ operation: 'delete' });
      } catch (err) {
        // The messages reappear after their visibility timeout; dedup answers them as duplicates.
        this.#d.metrics.sqsErrors.inc({ operation: 'delete' });
        this.#d.logger.error({ err: { name: (err as Error)?.name } }, 'deleting messages failed');
      }
    }
    return deleted;
  }

  async #handBackAll(items: { message: Message; delay: number }[]): Promise<void> {
    for (let i = 0; i < items.length; i += 10) {
      const group = items.slice(i, i + 10);
      try {
        await this.#d.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#s.sourceQueueUrl,
            Entries: group.map(({ message, delay }, j) => ({
              Id: String(j),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: delay,
            })),
          }),
        );
      } catch (err) {
        // The message becomes visible when its current visibility timeout ends instead.
        this.#d.metrics.sqsErrors.inc({ operation: 'hand_back' });
        this.#d.logger.warn({ err: { name: (err as Error)?.name } }, 'handing messages back failed');
      }
    }
  }

  #logFinished(f: Finished, outcome: string, reason: string, deleted: boolean): void {
    const { logger } = this.#d;
    const fields: Record<string, unknown> = {
      message_id: f.message.MessageId,
      outcome,
      receive_count: f.receiveCount,
    };
    if (reason !== '') fields.reason = reason;
    if (f.hash !== undefined) fields.token_hash = shortHash(f.hash);
    if (f.envelope !== undefined) fields.envelope = f.envelope;
    if (f.outcome.kind === 'retryLater') {
      fields.delay_seconds = f.outcome.delaySeconds;
      if (f.outcome.errorName !== undefined) fields.error_name = f.outcome.errorName;
    }
    if (f.outcome.kind === 'deadLetter') fields.detail = f.outcome.detail;
    if (f.outcome.kind !== 'retryLater') fields.deleted = deleted;
    logger.info(fields, 'message finished');
  }
}
