/**
 * POLLERS × `sqs-consumer`, each with one poll chain for its whole life, behind the intake gate
 * (intake.ts): the breaker pauses, probes and resumes intake through the gate, never by stopping
 * and restarting consumers. The relay deletes, dead-letters and hands back messages itself
 * (`shouldDeleteMessages: false`): its outcome per message is richer than ack / no-ack, and a
 * delete must not be cancelled by the abort that ends a long poll at shutdown.
 */
import {
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { Consumer } from 'sqs-consumer';
import type { Metrics } from '../observability/metrics.js';
import { IntakeGate, type IntakeMode } from './intake.js';

export interface PollerSettings {
  queueUrl: string;
  pollers: number;
  batchSize: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  /** System attributes to request beyond the ones the relay always reads. */
  extraSystemAttributes?: string[];
}

export interface PollerDeps {
  sqs: SQSClient;
  handleBatch: (messages: Message[]) => Promise<void>;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

const MAX_ERROR_BACKOFF_MS = 30_000;
/** A repeated receive error is logged again at most this often (with how often it happened). */
const ERROR_LOG_EVERY_MS = 600_000;

/** One consumer's progress, for liveness: what it is doing and since when. */
interface PollerState {
  /** When its current receive or batch began; undefined while it waits at the gate. */
  busySince: number | undefined;
  lastReceiveAt: number;
  probeBatch: boolean;
}

export class Pollers {
  readonly #deps: PollerDeps;
  readonly #now: () => number;
  readonly #gate: IntakeGate;
  readonly #consumers: Consumer[];
  readonly #states: PollerState[];
  #reachable: boolean | undefined;
  #errorStreak = 0;
  #errorLog = { name: '', at: 0, suppressed: 0 };

  constructor(s: PollerSettings, deps: PollerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#gate = new IntakeGate(s.batchSize);
    this.#states = Array.from({ length: s.pollers }, () => ({
      busySince: undefined,
      lastReceiveAt: this.#now(),
      probeBatch: false,
    }));
    this.#consumers = this.#states.map((state) => this.#create(s, state));
  }

  /**
   * The SQS client one consumer sees: its receives wait at the gate, take the ticket's batch size,
   * and are cut off when intake pauses. `sqs-consumer` sends nothing else (it neither deletes nor
   * extends visibility here).
   */
  #gatedClient(state: PollerState): SQSClient {
    const { sqs } = this.#deps;
    const gated = {
      send: async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
        if (!(command instanceof ReceiveMessageCommand)) return sqs.send(command as never, options);
        const ticket = await this.#gate.acquire(options?.abortSignal ?? new AbortController().signal);
        command.input.MaxNumberOfMessages = ticket.maxMessages;
        state.busySince = this.#now();
        let out: ReceiveMessageCommandOutput | undefined;
        try {
          out = await sqs.send(command, { abortSignal: ticket.signal });
          return out;
        } finally {
          const got = out?.Messages?.length ?? 0;
          if (got === 0) state.busySince = undefined;
          if (ticket.probe && got === 0) this.#gate.releaseProbe();
          state.probeBatch = ticket.probe && got > 0;
        }
      },
    };
    return gated as unknown as SQSClient;
  }

  #create(s: PollerSettings, state: PollerState): Consumer {
    const consumer = Consumer.create({
      queueUrl: s.queueUrl,
      sqs: this.#gatedClient(state),
      batchSize: s.batchSize,
      waitTimeSeconds: s.waitTimeSeconds,
      visibilityTimeout: s.visibilityTimeoutSeconds,
      messageAttributeNames: ['All'],
      messageSystemAttributeNames: [
        'ApproximateReceiveCount',
        'ApproximateFirstReceiveTimestamp',
        'SentTimestamp',
        'AWSTraceHeader',
        // FIFO and fair queues: kept on the DLQ copy.
        'MessageGroupId',
        ...((s.extraSystemAttributes ?? []) as never[]),
      ],
      shouldDeleteMessages: false,
      // Its FIFO warning is a raw console line; the relay says what it does with FIFO queues itself.
      suppressFifoWarning: true,
      handleMessageBatch: async (messages) => {
        const probe = state.probeBatch;
        this.#polled(state);
        this.#gate.batchStarted();
        state.busySince = this.#now();
        try {
          await this.#deps.handleBatch(messages);
        } finally {
          state.busySince = undefined;
          this.#gate.batchEnded();
          if (probe) this.#gate.releaseProbe();
        }
        return [];
      },
    });
    consumer.on('empty', () => this.#polled(state));
    consumer.on('error', (err, message) => {
      if (message !== undefined) return; // per-message errors are the relay's, reported there
      const code = (err as { code?: string }).code ?? err.name;
      // A receive cut off on purpose (pause, stop) is not a failure.
      if (this.#gate.mode === 'stopped' || this.#gate.mode === 'paused' || /abort/i.test(code)) return;
      this.#receiveFailed(consumer, code, err.message);
    });
    return consumer;
  }

  #receiveFailed(consumer: Consumer, code: string, message: string): void {
    this.#reachable = false;
    this.#errorStreak += 1;
    this.#deps.metrics.sqsErrors.inc({ operation: 'receive' });
    // sqs-consumer re-polls at once after most errors; back off so a missing queue or a denied
    // permission does not become a hot loop.
    const backoff = Math.min(MAX_ERROR_BACKOFF_MS, 250 * 2 ** Math.min(this.#errorStreak, 10));
    consumer.updateOption('pollingWaitTimeMs', backoff);
    // One line when an error starts, then one every ten minutes while it repeats, with the count.
    const now = this.#now();
    const log = this.#errorLog;
    if (log.name === code && now - log.at < ERROR_LOG_EVERY_MS) {
      log.suppressed += 1;
      return;
    }
    this.#deps.logger.warn(
      { err: { name: code, message }, backoff_ms: backoff, repeated: log.name === code ? log.suppressed : 0 },
      'receive failed',
    );
    this.#errorLog = { name: code, at: now, suppressed: 0 };
  }

  #polled(state: PollerState): void {
    state.lastReceiveAt = this.#now();
    this.#deps.metrics.lastReceive.set(state.lastReceiveAt / 1000);
    if (this.#errorStreak > 0 || this.#reachable !== true) {
      if (this.#errorStreak > 0) this.#deps.logger.info({ after_errors: this.#errorStreak }, 'receive works again');
      this.#errorStreak = 0;
      this.#errorLog = { name: '', at: 0, suppressed: 0 };
      for (const c of this.#consumers) c.updateOption('pollingWaitTimeMs', 0);
    }
    this.#reachable = true;
  }

  /** Whether the last receive answered (undefined before the first one). */
  get reachable(): boolean | undefined {
    return this.#reachable;
  }

  get mode(): IntakeMode {
    return this.#gate.mode;
  }

  /** Batches being handled now (never more than POLLERS). */
  get batchesInFlight(): number {
    return this.#gate.batchesInFlight;
  }

  /**
   * Liveness: the poller that has been in one receive or one batch the longest, and the longest
   * time any poller has gone without completing a receive while intake runs.
   */
  progress(): { longestBusyMs: number; longestSinceReceiveMs: number } {
    const now = this.#now();
    let longestBusyMs = 0;
    let longestSinceReceiveMs = 0;
    for (const s of this.#states) {
      if (s.busySince !== undefined) longestBusyMs = Math.max(longestBusyMs, now - s.busySince);
      longestSinceReceiveMs = Math.max(longestSinceReceiveMs, now - s.lastReceiveAt);
    }
    return { longestBusyMs, longestSinceReceiveMs };
  }

  /** Intake starts or resumes: the time without a receive counts from now, not from the pause. */
  #restartReceiveClocks(): void {
    const now = this.#now();
    for (const s of this.#states) s.lastReceiveAt = now;
  }

  start(): void {
    this.#restartReceiveClocks();
    this.#gate.set('running');
    for (const c of this.#consumers) c.start();
  }

  /** Intake stops (breaker open); receives waiting on SQS are cut off; batches in flight finish. */
  pause(): void {
    if (this.#gate.mode !== 'stopped') this.#gate.set('paused');
  }

  /**
   * One message at a time, once the batches of before the pause have settled, to feed the
   * breaker's half-open probe: only the probe message's receive count grows while Step Functions
   * is down.
   */
  probe(): void {
    if (this.#gate.mode !== 'paused') return;
    this.#restartReceiveClocks();
    this.#gate.set('probing');
  }

  resume(): void {
    if (this.#gate.mode === 'paused' || this.#gate.mode === 'probing') {
      this.#restartReceiveClocks();
      this.#gate.set('running');
    }
  }

  /** Stops polling at once: long polls in flight are aborted rather than waited out. */
  stop(): void {
    this.#gate.set('stopped');
    for (const c of this.#consumers) c.stop({ abort: true });
  }
}
