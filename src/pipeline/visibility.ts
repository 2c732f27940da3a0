/**
 * The visibility keeper of one receive batch (not a Step Functions task heartbeat). While any message of the batch waits (retries,
 * the rate limiter), the whole batch is kept hidden — finished messages too: they are settled
 * together and must not reappear meanwhile — and the dedup claims of the messages still pending
 * are renewed. Past MAX_VISIBILITY_EXTENSION_SECONDS it aborts the batch instead, so a stuck call
 * cannot hold a message forever.
 *
 * Races it closes: at most one extension is on the wire for a batch (a tick that comes while one is
 * still out is skipped: SQS's retries can hold a call longer than the interval), and `stop()` waits
 * for it and starts no other, so an extension can never land after the settle step's hand-back
 * (which would cancel the hand-back); and a claim is only
 * renewed while its owner still holds it (`DedupStore.renew`), so a renewal that lands after a
 * release cannot recreate an orphan lease.
 */
import { ChangeMessageVisibilityBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Metrics } from '../observability/metrics.js';
import type { DedupStore } from '../state/dedup/store.js';

export interface VisibilitySettings {
  sourceQueueUrl: string;
  visibilityTimeoutSeconds: number;
  heartbeatIntervalSeconds: number;
  maxVisibilityExtensionSeconds: number;
}

export interface VisibilityDeps {
  sqs: SQSClient;
  dedup: DedupStore;
  metrics: Metrics;
  now: () => number;
}

export interface Claim {
  hash: string;
  owner: string;
}

export class VisibilityKeeper {
  readonly #s: VisibilitySettings;
  readonly #d: VisibilityDeps;
  readonly #messages: Message[];
  readonly #abort: AbortController;
  readonly #claims = new Map<Message, Claim>();
  readonly #started: number;
  #timer: NodeJS.Timeout | undefined;
  /** The beat on the wire, if any: never more than one. */
  #tick: Promise<void> | undefined;
  #stopped = false;

  /** Starts beating at once; `abort` is aborted when the extension cap is reached. */
  constructor(messages: Message[], abort: AbortController, settings: VisibilitySettings, deps: VisibilityDeps) {
    this.#s = settings;
    this.#d = deps;
    this.#messages = messages;
    this.#abort = abort;
    this.#started = deps.now();
    this.#timer = setInterval(() => {
      if (this.#tick !== undefined || this.#stopped) return;
      const tick = this.#beat().finally(() => {
        if (this.#tick === tick) this.#tick = undefined;
      });
      this.#tick = tick;
    }, settings.heartbeatIntervalSeconds * 1000);
  }

  /** The message holds this claim now: renew it with the batch. */
  track(message: Message, claim: Claim): void {
    this.#claims.set(message, claim);
  }

  /** The message no longer waits on anything (its claim is completed or released). */
  untrack(message: Message): void {
    this.#claims.delete(message);
  }

  /** Stops beating and waits for the beat on the wire, if any; never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#tick !== undefined) await this.#tick;
  }

  async #beat(): Promise<void> {
    const { visibilityTimeoutSeconds: vis, maxVisibilityExtensionSeconds } = this.#s;
    const elapsed = (this.#d.now() - this.#started) / 1000;
    if (elapsed + vis > maxVisibilityExtensionSeconds) {
      this.#abort.abort(new Error('visibility extension cap reached'));
      clearInterval(this.#timer);
      return;
    }
    const claims = [...this.#claims.values()];
    await Promise.all([
      this.#d.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#s.sourceQueueUrl,
            Entries: this.#messages.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.ReceiptHandle,
              VisibilityTimeout: vis,
            })),
          }),
        )
        .then(
          () => undefined,
          () => this.#d.metrics.sqsErrors.inc({ operation: 'heartbeat' }),
        ),
      ...claims.map((c) => this.#d.dedup.renew(c.hash, c.owner, vis * 1000).catch(() => undefined)),
    ]);
  }
}
