import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { Consumer } from 'sqs-consumer';
import type { Metrics } from './metrics.js';

export interface PollerSettings {
  queueUrl: string;
  pollers: number;
  batchSize: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
}

export interface PollerDeps {
  sqs: SQSClient;
  handleBatch: (messages: Message[]) => Promise<void>;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

const MAX_ERROR_BACKOFF_MS = 30_000;

/**
 * Several `sqs-consumer` instances polling the same queue, so that concurrency is not capped at one
 * batch: each instance waits for its batch to settle before polling again. The relay deletes,
 * dead-letters and hands back messages itself (`shouldDeleteMessages: false`), because its
 * outcome per message is richer than ack / no-ack and because a delete must not be cancelled by
 * the abort that ends a long poll at shutdown.
 */
export class Pollers {
  readonly #consumers: Consumer[];
  readonly #deps: PollerDeps;
  readonly #batchSize: number;
  readonly #now: () => number;
  #reachable: boolean | undefined;
  #lastPollAt: number;
  #errorStreak = 0;
  #mode: 'stopped' | 'running' | 'probing' | 'paused' = 'stopped';

  constructor(s: PollerSettings, deps: PollerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#lastPollAt = this.#now();
    this.#batchSize = s.batchSize;
    this.#consumers = Array.from({ length: s.pollers }, () => this.#create(s));
  }

  #create(s: PollerSettings): Consumer {
    const consumer = Consumer.create({
      queueUrl: s.queueUrl,
      sqs: this.#deps.sqs,
      batchSize: s.batchSize,
      waitTimeSeconds: s.waitTimeSeconds,
      visibilityTimeout: s.visibilityTimeoutSeconds,
      messageAttributeNames: ['All'],
      messageSystemAttributeNames: [
        'ApproximateReceiveCount',
        'ApproximateFirstReceiveTimestamp',
        'SentTimestamp',
        'AWSTraceHeader',
      ],
      shouldDeleteMessages: false,
      handleMessageBatch: async (messages) => {
        this.#polled();
        await this.#deps.handleBatch(messages);
        return [];
      },
    });
    consumer.on('empty', () => this.#polled());
    consumer.on('error', (err, message) => {
      if (message !== undefined) return; // per-message errors are the relay's, reported there
      if (this.#mode === 'stopped' || this.#mode === 'paused' || /abort/i.test(err.name)) return;
      this.#reachable = false;
      this.#errorStreak += 1;
      this.#deps.metrics.sqsErrors.inc({ operation: 'receive' });
      // sqs-consumer re-polls at once after most errors; back off so a missing queue or a denied
      // permission does not become a hot loop.
      const backoff = Math.min(MAX_ERROR_BACKOFF_MS, 250 * 2 ** Math.min(this.#errorStreak, 10));
      consumer.updateOption('pollingWaitTimeMs', backoff);
      this.#deps.logger.warn({ err: { name: err.name, message: err.message }, backoff_ms: backoff }, 'receive failed');
    });
    return consumer;
  }

  #polled(): void {
    this.#lastPollAt = this.#now();
    if (this.#errorStreak > 0 || this.#reachable !== true) {
      this.#errorStreak = 0;
      for (const c of this.#consumers) c.updateOption('pollingWaitTimeMs', 0);
    }
    this.#reachable = true;
  }

  /** Whether the last receive answered (undefined before the first one). */
  get reachable(): boolean | undefined {
    return this.#reachable;
  }

  /** When a receive last completed; liveness looks at this. */
  get lastPollAt(): number {
    return this.#lastPollAt;
  }

  get mode(): string {
    return this.#mode;
  }

  start(): void {
    this.#mode = 'running';
    this.#lastPollAt = this.#now();
    this.#consumers[0]?.updateOption('batchSize', this.#batchSize);
    for (const c of this.#consumers) c.start();
  }

  /** Intake stops (breaker open); batches in flight finish. */
  pause(): void {
    if (this.#mode === 'stopped') return;
    this.#mode = 'paused';
    for (const c of this.#consumers) c.stop({ abort: true });
  }

  /**
   * One poller, one message at a time, to feed the breaker's half-open probe: only the probe
   * message's receive count grows while Step Functions is down.
   */
  probe(): void {
    if (this.#mode !== 'paused') return;
    this.#mode = 'probing';
    this.#lastPollAt = this.#now();
    this.#consumers[0]?.updateOption('batchSize', 1);
    this.#consumers[0]?.start();
  }

  resume(): void {
    if (this.#mode === 'stopped' || this.#mode === 'running') return;
    this.start();
  }

  /** Stops polling at once: long polls in flight are aborted rather than waited out. */
  stop(): void {
    this.#mode = 'stopped';
    for (const c of this.#consumers) c.stop({ abort: true });
  }
}
