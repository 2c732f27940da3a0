/**
 * The three task-token callbacks the relay carries, and what differs between them, as data: the
 * relay, the classifier and the clients read these tables instead of branching on the kind.
 */

export const CALLBACK_KINDS = ['failure', 'success', 'heartbeat'] as const;
export type CallbackKind = (typeof CALLBACK_KINDS)[number];

/** Kinds that close a token: the first one for a token wins, every later one is a duplicate. */
export type TerminalKind = Exclude<CallbackKind, 'heartbeat'>;

/**
 * Which kind closed a token, as its done record says: `unknown` for a record written before the
 * kind was stored, or a token found closed (`TaskTimedOut`) by any kind. A definite kind replaces
 * `unknown` in the record, never the reverse.
 */
export type DoneKind = TerminalKind | 'unknown';
export const DONE_KINDS: readonly DoneKind[] = ['failure', 'success', 'unknown'];

/** Outcomes of a call Step Functions accepted, one per kind. */
export type SentOutcome = 'failed' | 'succeeded' | 'heartbeatSent';

export interface KindRule {
  /** The Step Functions operation (also the lean client's `X-Amz-Target` suffix). */
  operation: 'SendTaskFailure' | 'SendTaskSuccess' | 'SendTaskHeartbeat';
  /** Closes the token: claimed in the dedup store and recorded done; else coalesced per interval. */
  terminal: boolean;
  /** The outcome when Step Functions accepted the call. */
  sent: SentOutcome;
  /** The rate limiter it takes from: terminal callbacks share one, heartbeats have their own. */
  limiter: 'terminal' | 'heartbeat';
}

export const KIND_RULES: Readonly<Record<CallbackKind, KindRule>> = {
  failure: { operation: 'SendTaskFailure', terminal: true, sent: 'failed', limiter: 'terminal' },
  success: { operation: 'SendTaskSuccess', terminal: true, sent: 'succeeded', limiter: 'terminal' },
  heartbeat: { operation: 'SendTaskHeartbeat', terminal: false, sent: 'heartbeatSent', limiter: 'heartbeat' },
};

/**
 * What a token's done record says about a kind that was handled for it: the kind only when its own
 * call closed the token; `unknown` for a heartbeat and for any kind answered TaskTimedOut
 * (`alreadyClosed`: something else closed it).
 */
export function doneKindOf(kind: CallbackKind, outcome?: { kind: string }): DoneKind {
  return kind === 'heartbeat' || outcome?.kind === 'alreadyClosed' ? 'unknown' : kind;
}

export function isCallbackKind(value: string): value is CallbackKind {
  return (CALLBACK_KINDS as readonly string[]).includes(value);
}
