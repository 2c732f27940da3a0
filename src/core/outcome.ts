/**
 * Where a message's fate is decided: one pure function from what happened to what to do. The
 * README's outcome table is written from this file; keep them in step.
 */

import { POISON_REASONS, type PoisonReason } from './event.js';
import { type CallbackKind, type DoneKind, KIND_RULES, type SentOutcome } from './kinds.js';
import type { SendResult } from './sendResult.js';
import { classifyError } from './sfnErrors.js';

export { classifyError, NODE_NETWORK_CODES } from './sfnErrors.js';

/** What the relay learned about one message, at the step where its path ended. */
export type Evidence =
  | { stage: 'parse'; reason: PoisonReason; detail: string }
  /** The token is done (`first`: the kind that closed it), or another owner holds its claim. */
  | { stage: 'dedup'; claim: 'done'; first: DoneKind }
  | { stage: 'dedup'; claim: 'busy' | 'unavailable' }
  /** A heartbeat for a token that had one sent less than TASK_HEARTBEAT_MIN_INTERVAL_SECONDS ago. */
  | { stage: 'dedup'; claim: 'coalesced' }
  /**
   * Step Functions was not called: the circuit is open, or processing was interrupted (shutdown
   * deadline, or the visibility-extension cap) before the call.
   */
  | { stage: 'intake'; cause: 'breaker_open' | 'interrupted' }
  /** `probe`: the call was the circuit breaker's probe (the circuit was not closed). `kind`: absent = failure. */
  | { stage: 'send'; result: SendResult; probe?: boolean; kind?: CallbackKind }
  /** The message was to be dead-lettered, but the DLQ refused it (`code`: the AWS error code). */
  | { stage: 'deadLetterSend'; code: string; message: string }
  /**
   * The sender allowlist refused the message (`sender_not_allowed`, `sns_signature_invalid`), or
   * could not check an SNS signature because the signing certificate is out of reach.
   */
  | { stage: 'admit'; verdict: AdmitReason | 'sns_cert_unavailable'; detail: string };

/** Dead-letter reasons of the sender allowlist. */
export const ADMIT_REASONS = ['sender_not_allowed', 'sns_signature_invalid'] as const;
export type AdmitReason = (typeof ADMIT_REASONS)[number];

/** Dead-letter reasons decided after Step Functions answered. */
export const SFN_DEAD_LETTER_REASONS = [
  'sfn_invalid_token',
  'sfn_task_does_not_exist',
  'sfn_invalid_request',
  'retries_exhausted',
] as const;

export type DeadLetterReason = PoisonReason | AdmitReason | (typeof SFN_DEAD_LETTER_REASONS)[number];

/** Every reason a DLQ message can carry. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  ...POISON_REASONS,
  ...ADMIT_REASONS,
  ...SFN_DEAD_LETTER_REASONS,
];

/**
 * Why moving a message dead-lettered for `reason` back to the source queue cannot succeed (the
 * relay would dead-letter it again at once), or undefined when it can. `sfn-relay dlq redrive`
 * asks for --force before moving such messages.
 */
export function redriveHopeless(reason: string): string | undefined {
  // retries_exhausted may pass now; kind_not_enabled passes once the kind is in CALLBACK_KINDS.
  if (reason === 'retries_exhausted' || reason === 'kind_not_enabled') return undefined;
  if (reason === 'sfn_invalid_token' || reason === 'sfn_task_does_not_exist') {
    return 'Step Functions refused the token; the same token will be refused again';
  }
  if (reason === 'sfn_invalid_request')
    return 'Step Functions refused the request as invalid; the same body is sent again';
  if ((POISON_REASONS as readonly string[]).includes(reason)) {
    return 'the body itself is invalid; a redrive sends the same body';
  }
  if (reason === 'sender_not_allowed') {
    return 'its sender is not on the allowlist; a redrive sends it as you, so it would pass on your identity alone: check who sent it first';
  }
  if (reason === 'sns_signature_invalid') return 'its SNS signature does not verify; a redrive sends the same body';
  // No reason of the relay's (moved by SQS's own redrive policy) or one this version does not know.
  return undefined;
}

/**
 * Why a message goes back to the queue, each with what ends its hand-backs (the README's "ends by"
 * column). "Last resort" is the source queue's redrive policy: the start-up check `redrive_policy`
 * warns when there is none.
 */
export const RETRY_CAUSES = [
  /** Ends by: MAX_RECEIVES failures of its own (counted per token), then `retries_exhausted`. */
  'throttled',
  /** Ends by: MAX_RECEIVES failures of its own, as `throttled`. */
  'unavailable',
  /** Ends by: MAX_RECEIVES failures of its own, as `throttled`; any error name (BY_NAME is a Map). */
  'unexpected',
  /** Ends by: an operator (role, key policy, credentials); last resort. */
  'unauthorized',
  /** Ends by: time: the holder settles (done → duplicate) or its lease ends; a holder is capped by MAX_VISIBILITY_EXTENSION_SECONDS. */
  'busy',
  /** Ends by: time (the fallback switches to memory after its grace) or, for a command error, an operator; last resort. */
  'store_unavailable',
  /** Ends by: time: the Step Functions outage ends (the breaker's probes find out); last resort. */
  'breaker_open',
  /** Ends by: the next receive (visibility 0): one per shutdown or visibility-extension cap. */
  'interrupted',
  /** Ends by: time (the certificate host answers) or an operator (pin the certificate); last resort. */
  'sns_cert_unavailable',
] as const;
export type RetryCause = (typeof RETRY_CAUSES)[number];

export type Outcome =
  /**
   * Step Functions accepted the call: delete. `failed` (SendTaskFailure) and `succeeded`
   * (SendTaskSuccess) record the token as done; `heartbeatSent` (SendTaskHeartbeat) does not.
   */
  | { kind: SentOutcome }
  /** The task was already closed (`TaskTimedOut`, for any kind): delete, record as done. */
  | { kind: 'alreadyClosed' }
  /** The token was done before (`first`: the kind that closed it): delete without calling Step Functions. */
  | { kind: 'duplicate'; first: DoneKind }
  /**
   * A heartbeat within TASK_HEARTBEAT_MIN_INTERVAL_SECONDS of the last one sent for its token:
   * delete without a call. Ends by: nothing to end, it is deleted at once.
   */
  | { kind: 'heartbeatCoalesced' }
  /** Can never succeed: DLQ with the reason, then delete. */
  | { kind: 'deadLetter'; reason: DeadLetterReason; detail: string }
  /** Hand back to the queue, visible again after `delaySeconds`. */
  | { kind: 'retryLater'; delaySeconds: number; cause: RetryCause; errorName?: string }
  /**
   * Was to be dead-lettered, but the DLQ refused the send: the message stays in the source queue,
   * handed back with a growing delay, and is never counted as dead-lettered. `code` is the AWS
   * error code (the metric's reason), `detail` the error message (logged). Ends by: an operator
   * fixing the DLQ (the relay's own entries always fit its size and character set); last resort.
   */
  | { kind: 'dlqSendFailed'; code: string; detail: string; delaySeconds: number };

export type OutcomeKind = Outcome['kind'];

export interface FateSettings {
  /** ApproximateReceiveCount: the hand-back delay grows with it. */
  receiveCount: number;
  /**
   * Failures of the message's own (throttled, unavailable, unexpected), counted per token in the
   * dedup store, this one included: `retries_exhausted` at `maxReceives`. Receives that were not
   * the message's fault (see BLAMELESS) never count.
   */
  ownFailures: number;
  maxReceives: number;
  retryBaseDelaySeconds: number;
  retryMaxDelaySeconds: number;
  visibilityTimeoutSeconds: number;
  /** In [0, 1); injected so tests can pin the jitter. */
  random: () => number;
}

/** Causes that are not the message's fault never count toward MAX_RECEIVES (see FateSettings.ownFailures). */
const BLAMELESS: ReadonlySet<RetryCause> = new Set([
  'sns_cert_unavailable',
  'unauthorized',
  'busy',
  'store_unavailable',
  'breaker_open',
  'interrupted',
]);

/**
 * Visibility delay for a message handed back: exponential in the receive count, capped, with
 * "equal jitter" (half fixed, half random) so the delay both grows and spreads.
 */
export function handBackDelay(f: FateSettings, cap = f.retryMaxDelaySeconds): number {
  const exponent = Math.min(Math.max(f.receiveCount - 1, 0), 30);
  const ceiling = Math.min(cap, f.retryMaxDelaySeconds, f.retryBaseDelaySeconds * 2 ** exponent);
  return Math.min(43_200, Math.ceil(ceiling / 2 + f.random() * (ceiling / 2)));
}

function retryLater(cause: RetryCause, f: FateSettings, errorName?: string, httpStatus?: number): Outcome {
  if (!BLAMELESS.has(cause) && f.ownFailures >= f.maxReceives) {
    const status = httpStatus === undefined ? '' : ` (HTTP ${httpStatus})`;
    return {
      kind: 'deadLetter',
      reason: 'retries_exhausted',
      detail: `gave up after ${f.ownFailures} failed attempts of its own (${f.receiveCount} receives); last error ${errorName ?? cause}${status}`,
    };
  }
  const delaySeconds =
    cause === 'interrupted' ? 0 : handBackDelay(f, cause === 'busy' ? f.visibilityTimeoutSeconds : undefined);
  return errorName === undefined
    ? { kind: 'retryLater', delaySeconds, cause }
    : { kind: 'retryLater', delaySeconds, cause, errorName };
}

/** The retry cause of a failed call, or undefined when the call's answer is not a retry. */
function sendRetryCause(evidence: Extract<Evidence, { stage: 'send' }>): RetryCause | undefined {
  const r = evidence.result;
  if (r.ok) return undefined;
  const cls = classifyError(r.errorName, r.httpStatus);
  if (cls.kind !== 'retry') return undefined;
  // A failed probe into an outage is not this message's fault: it must not use up its budget.
  if (evidence.probe === true && isWholesaleFailure(r)) return 'breaker_open';
  return cls.cause;
}

/**
 * Whether this evidence is a failure of the message's own, to be counted (per token, in the dedup
 * store) before `decide` is asked: only then can `retries_exhausted` be reached.
 */
export function countsAgainstMessage(evidence: Evidence): boolean {
  if (evidence.stage !== 'send') return false;
  const cause = sendRetryCause(evidence);
  return cause !== undefined && !BLAMELESS.has(cause);
}

/** The one place a message's fate is decided. */
export function decide(evidence: Evidence, f: FateSettings): Outcome {
  switch (evidence.stage) {
    case 'parse':
      return { kind: 'deadLetter', reason: evidence.reason, detail: evidence.detail };
    case 'admit':
      // An unreachable certificate is not the message's fault: it waits until the check can be made.
      if (evidence.verdict === 'sns_cert_unavailable') return retryLater('sns_cert_unavailable', f);
      return { kind: 'deadLetter', reason: evidence.verdict, detail: evidence.detail };
    case 'dedup':
      if (evidence.claim === 'done') return { kind: 'duplicate', first: evidence.first };
      if (evidence.claim === 'coalesced') return { kind: 'heartbeatCoalesced' };
      return retryLater(evidence.claim === 'busy' ? 'busy' : 'store_unavailable', f);
    case 'intake':
      return retryLater(evidence.cause, f);
    case 'deadLetterSend':
      // Not the message's fault, and it cannot leave the source queue any other way: back off.
      return { kind: 'dlqSendFailed', code: evidence.code, detail: evidence.message, delaySeconds: handBackDelay(f) };
    case 'send': {
      const r = evidence.result;
      if (r.ok) return { kind: KIND_RULES[evidence.kind ?? 'failure'].sent };
      const cls = classifyError(r.errorName, r.httpStatus);
      if (cls.kind === 'closed') return { kind: 'alreadyClosed' };
      if (cls.kind === 'dead') return { kind: 'deadLetter', reason: cls.reason, detail: sendDetail(r) };
      return retryLater(sendRetryCause(evidence) ?? cls.cause, f, r.errorName, r.httpStatus);
    }
  }
}

/** A refused call's detail: name and message, or name and HTTP status when the message was dropped (withoutEcho). */
function sendDetail(r: Extract<SendResult, { ok: false }>): string {
  return r.message === '' ? `${r.errorName} (HTTP ${r.httpStatus ?? 'none'})` : `${r.errorName}: ${r.message}`;
}

/** Errors that mean Step Functions is failing for everyone, not for this message (breaker input). */
export function isWholesaleFailure(result: SendResult): boolean {
  if (result.ok) return false;
  const cls = classifyError(result.errorName, result.httpStatus);
  // Per-message surprises ('unexpected' 4xx) say nothing about the service.
  return cls.kind === 'retry' && cls.cause !== 'unexpected';
}
