/**
 * Deduplication on the task token's hash (never the token). A terminal callback (failure, success)
 * first *claims* the hash for a lease as long as its visibility timeout, so a crashed replica
 * cannot block a token for longer than SQS would hide the message; after the outcome it either
 * *completes* the hash with the kind that closed it (every later copy, of either kind, is a
 * duplicate) or *releases* it (try again later). Heartbeats never claim: they pass a per-token
 * *heartbeat gate* (one call per interval) that also answers whether the token is done.
 */
import type { DoneKind } from '../../core/kinds.js';
import type { StoreKind } from '../../core/modes.js';

export type { DoneKind } from '../../core/kinds.js';
export type { StoreKind } from '../../core/modes.js';

/** The token is done: `first` is the kind that closed it (`unknown`: a record of an older version). */
export interface Done {
  done: DoneKind;
}

export type ClaimResult =
  /** This owner holds the hash now and may call Step Functions. */
  | 'claimed'
  /** Another owner holds an unexpired claim: hand the message back and look again later. */
  | 'busy'
  /** The task was already failed, succeeded or found closed: the message is a duplicate. */
  | Done;

export type HeartbeatGate =
  /** The first heartbeat of the interval for this token: send it (the gate is `owner`'s now). */
  | 'send'
  /** A heartbeat was let through less than an interval ago: delete this one. */
  | 'coalesced'
  /** The token is done: delete without a call. */
  | Done;

export function isDoneAnswer(r: ClaimResult | HeartbeatGate): r is Done {
  return typeof r === 'object';
}

export interface DedupStore {
  readonly kind: StoreKind;
  claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult>;
  /**
   * Records the hash as done by `first` for `ttlMs`, whoever held the claim; a record already there
   * keeps its kind, except that a definite kind (failure, success) replaces `unknown`.
   */
  complete(hash: string, ttlMs: number, first: DoneKind): Promise<void>;
  /** Drops the claim if `owner` still holds it. */
  release(hash: string, owner: string): Promise<void>;
  /**
   * Extends the claim to `leaseMs` from now, only while `owner` still holds it (a renewal that
   * lands after a release or a completion does nothing).
   */
  renew(hash: string, owner: string, leaseMs: number): Promise<void>;
  /**
   * Counts one failure of the message's own for this token (kept for `ttlMs` after the last one)
   * and answers the count so far, this one included.
   */
  recordFailure(hash: string, ttlMs: number): Promise<number>;
  /**
   * Done, or else takes the token's heartbeat gate for `intervalMs` when it is free (atomically,
   * across replicas on Redis): at most one heartbeat call per token per interval.
   */
  heartbeat(hash: string, owner: string, intervalMs: number): Promise<HeartbeatGate>;
  /**
   * As the heartbeat's call starts: restarts the gate's interval from now if `owner` still holds it
   * or it has expired meanwhile (a wait in the heartbeat limiter), and answers true (call). A gate
   * another copy took since is left alone and the answer is false: that copy calls (or called)
   * instead, so this one is coalesced. Calls of one token start at least `intervalMs` apart.
   */
  restartHeartbeat(hash: string, owner: string, intervalMs: number): Promise<boolean>;
  /** Frees the gate if `owner` still holds it: the heartbeat was not delivered and is retried. */
  reopenHeartbeat(hash: string, owner: string): Promise<void>;
  close(): Promise<void>;
}
