/**
 * The DLQ's MaximumMessageSize as the relay knows it. Read at start-up; read again after the DLQ
 * refuses a send (at most once per REFRESH_MS), so that an operator who raised the limit is seen
 * without a restart: a body over the old limit first goes with its minimal reason, and if that is
 * refused, the next attempt is fitted to the new limit (the reason dropped when only that fits).
 * Bound: one GetQueueAttributes call per REFRESH_MS at most, only while sends are refused.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { SQS_MAX_MESSAGE_BYTES } from './deadLetter.js';

const REFRESH_MS = 10_000;

export class DlqLimit {
  readonly #url: string;
  readonly #d: { sqs: SQSClient; logger: Logger };
  #bytes: number;
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(url: string, bytes: number | undefined, deps: { sqs: SQSClient; logger: Logger }) {
    this.#url = url;
    this.#bytes = bytes ?? SQS_MAX_MESSAGE_BYTES;
    this.#d = deps;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** After a refused DLQ send: read the limit again, unless it was read in the last REFRESH_MS. */
  async refresh(now: number): Promise<void> {
    if (now - this.#readAt < REFRESH_MS) return;
    this.#readAt = now;
    try {
      const out = await this.#d.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.#url, AttributeNames: ['MaximumMessageSize'] }),
      );
      const read = Number(out.Attributes?.MaximumMessageSize);
      if (!Number.isInteger(read) || read <= 0 || read === this.#bytes) return;
      this.#d.logger.info({ before: this.#bytes, now: read }, 'DLQ MaximumMessageSize changed; entries fitted to it');
      this.#bytes = read;
    } catch {
      // Keep the limit known; the refusal itself is already logged, counted and on /readyz.
    }
  }
}
