/**
 * How long a SIGTERM may take, worst case, from the settings: the drain, then the Step Functions
 * calls already on the wire (all their attempts and backoff), then settling (a DLQ send, a delete
 * and a hand-back, each bounded by the SQS request timeout), then the trace flush. The Helm chart
 * computes its `terminationGracePeriodSeconds` with the same formula (templates/_helpers.tpl), and
 * the process gives up (exit 1; messages reappear after their visibility timeout) if it is ever
 * exceeded.
 */

import { SQS_REQUEST_TIMEOUT_MS } from '../aws/sqs.js';
import type { Config } from './config.js';

/** The longest backoff the SendTaskFailure retries sleep in total (throttling's base, 500 ms, doubling, capped at 20 s). */
export function maxBackoffMs(attempts: number): number {
  let total = 0;
  for (let k = 1; k < attempts; k += 1) total += Math.min(20_000, 500 * 2 ** (k - 1));
  return total;
}

export const SHUTDOWN_MARGIN_SECONDS = 2;

export function shutdownBudgetSeconds(
  c: Pick<Config, 'drainTimeoutSeconds' | 'sfnMaxAttempts' | 'sfnRequestTimeoutMs' | 'telemetryFlushTimeoutMs'>,
): number {
  const wireMs = c.sfnMaxAttempts * c.sfnRequestTimeoutMs + maxBackoffMs(c.sfnMaxAttempts);
  const settleMs = 3 * SQS_REQUEST_TIMEOUT_MS;
  return (
    c.drainTimeoutSeconds + Math.ceil((wireMs + settleMs + c.telemetryFlushTimeoutMs) / 1000) + SHUTDOWN_MARGIN_SECONDS
  );
}
