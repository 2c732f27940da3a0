/**
 * How a settled message is reported: one metric sample, one log line (`message finished`) and the
 * end of its CONSUMER span, with the outcome and reason as label, field and attribute.
 */

import type { Message } from '@aws-sdk/client-sqs';
import { context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Outcome } from '../core/outcome.js';
import { shortHash } from '../core/secret.js';
import { summarizeOrigin } from '../envelope/origin.js';
import type { Metrics } from '../observability/metrics.js';
import { endWithError } from '../observability/telemetry.js';
import type { Finished } from './settle.js';

export interface RecordDeps {
  metrics: Metrics;
  logger: Logger;
}

const METRIC_OUTCOME: Record<Outcome['kind'], string> = {
  failed: 'failed',
  succeeded: 'succeeded',
  heartbeatSent: 'heartbeat_sent',
  heartbeatCoalesced: 'heartbeat_coalesced',
  alreadyClosed: 'already_closed',
  duplicate: 'duplicate',
  deadLetter: 'dead_lettered',
  retryLater: 'retry_later',
  dlqSendFailed: 'dlq_send_failed',
};

/** AWS error codes as label values: a bounded, well-formed set; anything else is `other`. */
export function codeLabel(code: string): string {
  return /^[A-Za-z][A-Za-z0-9._]{0,63}$/.test(code) ? code : 'other';
}

function reasonOf(o: Outcome): string {
  if (o.kind === 'deadLetter') return o.reason;
  if (o.kind === 'retryLater') return o.cause;
  if (o.kind === 'dlqSendFailed') return codeLabel(o.code);
  if (o.kind === 'duplicate') return `after_${o.first}`;
  return '';
}

export function numberAttribute(m: Message, name: string): number | undefined {
  const raw = m.Attributes?.[name as keyof NonNullable<Message['Attributes']>];
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** The message's metric, log line and span. */
export function recordFinished(d: RecordDeps, f: Finished, now: number, deleted: boolean): void {
  const outcome = METRIC_OUTCOME[f.outcome.kind];
  const reason = reasonOf(f.outcome);
  // Unknown when the body did not say (not JSON, no token, an invalid kind…): the label is empty.
  const kind = f.kind ?? '';
  d.metrics.finished.inc({ outcome, reason, kind });
  const sent = numberAttribute(f.message, 'SentTimestamp');
  if (sent !== undefined) d.metrics.lag.observe({ outcome }, Math.max(0, now - sent) / 1000);
  context.with(f.ctx, () => logFinished(d, f, outcome, reason, deleted));
  f.span.setAttribute('sfn_relay.outcome', outcome);
  // A duplicate is no error: its reason (which kind came first) is an attribute only.
  if (reason === '' || f.outcome.kind === 'duplicate') {
    if (reason !== '') f.span.setAttribute('sfn_relay.reason', reason);
    f.span.end();
  } else {
    f.span.setAttribute('sfn_relay.reason', reason);
    endWithError(f.span, reason);
  }
}

function logFinished(d: RecordDeps, f: Finished, outcome: string, reason: string, deleted: boolean): void {
  const fields: Record<string, unknown> = {
    message_id: f.message.MessageId,
    outcome,
    receive_count: f.receiveCount,
  };
  if (reason !== '') fields.reason = reason;
  if (f.kind !== undefined) fields.kind = f.kind;
  if (f.hash !== undefined) fields.token_hash = shortHash(f.hash);
  if (f.origin !== undefined) fields.envelope = f.origin.envelope;
  const o = f.outcome;
  if (o.kind === 'retryLater') {
    fields.delay_seconds = o.delaySeconds;
    if (o.errorName !== undefined) fields.error_name = o.errorName;
  }
  if (o.kind === 'deadLetter') {
    fields.detail = o.detail;
    if (f.origin !== undefined) fields.origin = summarizeOrigin(f.origin);
    if (f.message.Attributes?.SenderId !== undefined) fields.sender = f.message.Attributes.SenderId;
  }
  if (o.kind === 'dlqSendFailed') {
    fields.delay_seconds = o.delaySeconds;
    fields.error_name = o.code;
    fields.error_message = o.detail;
    // One line per refusal, at error level: the DLQ is misconfigured or unavailable.
    d.logger.error(fields, 'message finished');
    return;
  }
  if (o.kind !== 'retryLater') fields.deleted = deleted;
  d.logger.info(fields, 'message finished');
}
