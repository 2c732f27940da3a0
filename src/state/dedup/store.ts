/**
 * Deduplication on the task token's hash (never the token). A message first *claims* the hash for
 * a lease as long as its visibility timeout, so a crashed replica cannot block a token for longer
 * than SQS would hide the message; after the outcome it either *completes* the hash (the task is
 * failed or already closed: every later copy is a duplicate) or *releases* it (try again later).
 */
export type ClaimResult =
  /** This owner holds the hash now and may call Step Functions. */
  | 'claimed'
  /** The task was already failed or found closed: the message is a duplicate. */
  | 'done'
  /** Another owner holds an unexpired claim: hand the message back and look again later. */
  | 'busy';

import type { StoreKind } from '../../core/modes.js';

export type { StoreKind } from '../../core/modes.js';

export interface DedupStore {
  readonly kind: StoreKind;
  claim(hash: string, owner: string, leaseMs: number): Promise<ClaimResult>;
  /** Records the hash as done for `ttlMs`, whoever held the claim. */
  complete(hash: string, ttlMs: number): Promise<void>;
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
  close(): Promise<void>;
}
