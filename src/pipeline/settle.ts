/**
 * Settling one receive batch: the outcomes decided per message are applied together — DLQ sends
 * first, then deletes, then hand-backs with their delays — and each message's metric, log line
 * and span are finished. A DLQ send that is refused is decided again (`deadLetterSend` evidence →
 * `dlqSendFailed`): the message stays in the source queue, is handed back with a growing delay,
 * and is never counted as dead-lettered.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Context, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { errorNameOf } from '../core/errors.js';
import type { CallbackKind } from '../core/kinds.js';
import type { Evidence, Outcome } from '../core/outcome.js';
import { scrub, shortHash } from '../core/secret.js';
import { summarizeOrigin } from '../envelope/origin.js';
import type { Origin } from '../envelope/unwrap.js';
import type { Metrics } from '../observability/metrics.js';
import { endWithError, queueName, tracer } from '../observability/telemetry.js';
import { traceContextAttributes } from '../observability/traceContext.js';
import { chunkEntries, type DeadLetterInfo, deadLetterEntry, dlqRouting, type Trim } from './deadLetter.js';
import { DlqLimit } from './dlqLimit.js';
import { codeLabel, numberAttribute, recordFinished } from './finishRecord.js';

/** A message whose outcome is decided, with its CONSUMER span, still open until settled. */
export interface Finished {
  message: Message;
  /** ApproximateReceiveCount, read once. */
  receiveCount: number;
  outcome: Outcome;
  hash: string | undefined;
  /** The callback's kind, when its body said it (metric label, log field, span and DLQ attribute). */
  kind?: CallbackKind | undefined;
  /** Where the message came from, as far as its body was parsed. */
  origin: Origin | undefined;
  /** Decides the message's fate again from new evidence (a refused DLQ send). */
  fate: (evidence: Evidence) => Outcome;
  span: Span;
  ctx: Context;
}

export interface SettleSettings {
  sourceQueueUrl: string;
  dlqUrl: string;
  /** The DLQ's MaximumMessageSize (read at start-up); entries are fitted to it. */
  dlqMaxMessageBytes?: number;
  /** The DLQ is a FIFO queue: entries need a group and get a deduplication id. */
  dlqFifo?: boolean;
}

export interface SettleDeps {
  sqs: SQSClient;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

/** The DLQ as the relay last saw it, for `/readyz`. */
export interface DlqHealth {
  /** DLQ sends refused since start. */
  refused: number;
  lastRefusal: { code: string; at: string } | undefined;
  /** Messages dead-lettered as the body alone (the reason attribute did not fit the DLQ's size). */
  reasonDropped: number;
}

interface Refusal {
  code: string;
  message: string;
}

export class Settler {
  readonly #s: SettleSettings;
  readonly #d: SettleDeps;
  readonly #dlqName: string;
  readonly #dlqLimit: DlqLimit;
  readonly #health: DlqHealth = { refused: 0, lastRefusal: undefined, reasonDropped: 0 };

  constructor(settings: SettleSettings, deps: SettleDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#dlqName = queueName(settings.dlqUrl);
    this.#dlqLimit = new DlqLimit(settings.dlqUrl, settings.dlqMaxMessageBytes, deps);
  }

  get dlqHealth(): DlqHealth {
    return this.#health;
  }

  /** Applies the outcomes: DLQ sends first, then deletes, and hand-backs with their delays. */
  async settle(finished: Finished[]): Promise<void> {
    const toDeadLetter = finished.filter((f) => f.outcome.kind === 'deadLetter');
    if (toDeadLetter.length > 0) await this.#deadLetter(toDeadLetter);

    const toDelete = finished.filter((f) => !['retryLater', 'dlqSendFailed'].includes(f.outcome.kind));
    const deleted = await this.#deleteAll(toDelete.map((f) => f.message));
    await this.#handBackAll(
      finished.flatMap((f) =>
        f.outcome.kind === 'retryLater' || f.outcome.kind === 'dlqSendFailed'
          ? [{ message: f.message, delay: f.outcome.delaySeconds }]
          : [],
      ),
    );
    const now = this.#d.now();
    for (const f of finished) recordFinished(this.#d, f, now, deleted.has(f.message));
  }

  /**
   * Sends to the DLQ with a PRODUCER span per message, whose context goes into the DLQ message (a
   * tool that reads the DLQ links to it). A refused entry turns the message's outcome into
   * `dlqSendFailed`.
   */
  async #deadLetter(items: Finished[]): Promise<void> {
    const now = this.#d.now();
    const spans = items.map((f) =>
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
    const entries = items.map((f, i) => {
      const span = spans[i];
      const { entry, trimmed } = deadLetterEntry(
        String(i),
        f.message,
        this.#info(f, now),
        span === undefined ? {} : traceContextAttributes(trace.setSpan(f.ctx, span)),
        this.#dlqLimit.bytes,
      );
      this.#trimmed(f, trimmed);
      return { ...entry, ...dlqRouting(f.message, this.#s.dlqFifo ?? isFifoQueueUrl(this.#s.dlqUrl)) };
    });
    const refusals = await this.#sendToDlq(entries);
    // A limit raised since it was read is seen before the next attempt.
    if (refusals.size > 0) await this.#dlqLimit.refresh(now);

    items.forEach((f, i) => {
      const refusal = refusals.get(String(i));
      const span = spans[i];
      if (refusal === undefined) {
        span?.end();
        return;
      }
      if (span !== undefined) endWithError(span, 'dlq_send_failed');
      this.#health.refused += 1;
      this.#health.lastRefusal = { code: codeLabel(refusal.code), at: new Date(now).toISOString() };
      f.outcome = f.fate({ stage: 'deadLetterSend', code: refusal.code, message: refusal.message });
    });
  }

  /** What was given up to fit the DLQ's size: a metric, and when the reason itself went, a log line and /readyz. */
  #trimmed(f: Finished, trimmed: readonly Trim[]): void {
    const last = trimmed.at(-1);
    if (last === undefined) return;
    this.#d.metrics.dlqTrimmed.inc({ trim: last });
    if (last !== 'reason') return;
    this.#health.reasonDropped += 1;
    const o = f.outcome as Extract<Outcome, { kind: 'deadLetter' }>;
    this.#d.logger.warn(
      { message_id: f.message.MessageId, reason: o.reason, detail: o.detail },
      'body too close to the DLQ size limit: dead-lettered without its reason attribute',
    );
  }

  #info(f: Finished, now: number): Omit<DeadLetterInfo, 'overflowAttributes'> {
    const outcome = f.outcome as Extract<Outcome, { kind: 'deadLetter' }>;
    const first = numberAttribute(f.message, 'ApproximateFirstReceiveTimestamp');
    return {
      reason: outcome.reason,
      detail: outcome.detail,
      sourceMessageId: f.message.MessageId ?? '',
      receiveCount: f.receiveCount,
      firstReceivedAt: first === undefined ? undefined : new Date(first).toISOString(),
      deadLetteredAt: new Date(now).toISOString(),
      ...(f.hash === undefined ? {} : { tokenHash: shortHash(f.hash) }),
      ...(f.kind === undefined ? {} : { kind: f.kind }),
      ...(f.origin === undefined ? {} : { origin: summarizeOrigin(f.origin) }),
      // Requested only with the sender allowlist on: the IAM principal's unique id, no secret.
      ...(f.message.Attributes?.SenderId === undefined ? {} : { sender: f.message.Attributes.SenderId }),
    };
  }

  /** Sends the entries; answers the refused ones by entry id, with the AWS error code and message. */
  async #sendToDlq(entries: SendMessageBatchRequestEntry[]): Promise<Map<string, Refusal>> {
    const refused = new Map<string, Refusal>();
    // Within SQS's batch payload limit; a larger entry goes alone.
    for (const group of chunkEntries(entries)) {
      try {
        const out = await this.#d.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.#s.dlqUrl, Entries: group }));
        for (const failed of out.Failed ?? []) {
          refused.set(failed.Id ?? '', {
            code: failed.Code ?? 'Unknown',
            message: scrub(failed.Message ?? '', undefined),
          });
        }
      } catch (err) {
        const refusal = { code: errorNameOf(err), message: scrub(String((err as Error)?.message ?? ''), undefined) };
        for (const e of group) refused.set(e.Id ?? '', refusal);
      }
    }
    if (refused.size > 0) this.#d.metrics.sqsErrors.inc({ operation: 'dlq_send' }, refused.size);
    return refused;
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
        this.#d.logger.error({ err: { name: errorNameOf(err) } }, 'deleting messages failed');
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
        this.#d.logger.warn({ err: { name: errorNameOf(err) } }, 'handing messages back failed');
      }
    }
  }
}
