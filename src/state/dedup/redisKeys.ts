/**
 * Where the Redis dedup store keeps what (docs/redis-sizing.md has the measurements behind it).
 *
 * - **Done records** are fields of small hashes, not keys of their own: a key costs ~117 bytes on
 *   Redis 7.0 however short it is (two dict entries, an object, the name), a listpack field ~20.
 *   A record goes into the hash of its *shard* (the first 14 bits of the token's hash: 16,384
 *   shards) and of the *window* its expiry falls in; the hash expires at the window's end plus a
 *   clock-skew margin, so a record lives between its TTL and its TTL plus one window plus the
 *   margin. The window is the smallest power of two seconds ≥ TTL/16 (8,192 s for a day), so a
 *   claim looks in at most 23 hashes of its shard (14 for a day).
 *   Whole-key expiry works on every Redis and Valkey ElastiCache runs; per-field expiry (HEXPIRE)
 *   would need Redis 7.4 or Valkey 9.0.
 * - The field is the first 96 bits of the token's hash in base64url (16 characters), as many bits
 *   as the in-process store keeps: a collision among 10⁸ records has odds of about 10⁻¹³.
 * - A field's value is the kind that closed the token: `f` (failure), `s` (success), `u` (unknown:
 *   found closed by a heartbeat); `1`, the value before kinds were stored, reads as unknown. One
 *   byte, as before.
 * - **Claims**, **failure counts** (few: in-flight messages, tokens that failed on their own) and
 *   **heartbeat gates** (`<prefix>h{shard}<id>` = owner, for TASK_HEARTBEAT_MIN_INTERVAL_SECONDS:
 *   tokens with a heartbeat sent within the interval) stay one key each, named by the same 96 bits.
 * - The hash tag is the shard, so a token's claim and every window it may be done in share one
 *   slot of a cluster (one script, no CROSSSLOT), while 16,384 tags spread the records over all
 *   16,384 slots.
 * - **Legacy** keys (`<prefix>tok:{<sha256 hex>}`, before this layout) are read, never written:
 *   see RedisDedupStore.
 */
import { createHash } from 'node:crypto';
import type { DoneKind } from '../../core/kinds.js';

const DONE_VALUES: ReadonlyMap<DoneKind, string> = new Map([
  ['failure', 'f'],
  ['success', 's'],
  ['unknown', 'u'],
]);
const DONE_KINDS: ReadonlyMap<string, DoneKind> = new Map([
  ['f', 'failure'],
  ['s', 'success'],
]);

/** The field value a done record stores for the kind that closed its token. */
export function doneValue(kind: DoneKind): string {
  return DONE_VALUES.get(kind) ?? 'u';
}

/** A script's `done:<value>` answer as the kind (any value it does not know, `1` included: unknown); else undefined. */
export function doneAnswer(raw: unknown): { done: DoneKind } | undefined {
  if (typeof raw !== 'string' || !raw.startsWith('done:')) return undefined;
  return { done: DONE_KINDS.get(raw.slice(5)) ?? 'unknown' };
}

const SHARD_BITS = 14;
const HEX_HASH = /^[0-9a-f]{64}$/i;
/**
 * How far a replica's clock may run behind without shortening a record's TTL: the completer's own
 * clock places the record and its hash's expiry (PEXPIREAT), so each hash lives this much longer
 * and claims look this much further back. Skew beyond it shortens the TTL by the excess.
 */
export const CLOCK_SKEW_MARGIN_MS = 300_000;

/** The window width for a TTL, as a power of two: the smallest 2^n seconds ≥ TTL/16, at least 64 s. */
export function windowLog2(ttlMs: number): number {
  const target = Math.max(64, Math.ceil(ttlMs / 1000 / 16));
  return Math.ceil(Math.log2(target));
}

export interface TokenKeys {
  /** The shard's hash tag, braces included. */
  tag: string;
  /** The record's field in a done hash. */
  field: string;
  claim: string;
  failures: string;
  /** The token's heartbeat gate. */
  heartbeat: string;
  /** The key the versions before this layout used (claims and done records in one string key). */
  legacy: string;
}

export class RedisKeys {
  readonly #prefix: string;
  /** Window width in seconds and its log2 (part of the hash's name: a TTL that changes it starts new hashes). */
  readonly #log2: number;
  readonly #windowS: number;
  /** How many windows a claim looks in: every window a record done since TTL ago can have expiry in. */
  readonly lookups: number;
  readonly ttlMs: number;
  /** When the first relay of this layout started and whether it found old keys (redisLegacy.ts). */
  readonly layoutSince: string;
  /** SCAN pattern of the layout before. */
  readonly legacyPattern: string;

  constructor(prefix: string, ttlMs: number) {
    this.#prefix = prefix;
    this.layoutSince = `${prefix}layout2-since`;
    this.legacyPattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}tok:*`;
    this.ttlMs = ttlMs;
    this.#log2 = windowLog2(ttlMs);
    this.#windowS = 2 ** this.#log2;
    // Windows from (now - margin)'s to (now + TTL)'s, and one more for a replica whose clock runs ahead.
    this.lookups = Math.ceil(ttlMs / 1000 / this.#windowS) + 2 + Math.ceil(CLOCK_SKEW_MARGIN_MS / 1000 / this.#windowS);
  }

  /** `hash`: the token's SHA-256 in hex; anything else (tests, names) is hashed first. */
  token(hash: string): TokenKeys {
    const bytes = HEX_HASH.test(hash) ? Buffer.from(hash, 'hex') : createHash('sha256').update(hash).digest();
    const shard = ((bytes[0] ?? 0) << (SHARD_BITS - 8)) | ((bytes[1] ?? 0) >> (16 - SHARD_BITS));
    const tag = `{${shard.toString(16)}}`;
    const field = bytes.subarray(0, 12).toString('base64url');
    return {
      tag,
      field,
      claim: `${this.#prefix}c${tag}${field}`,
      failures: `${this.#prefix}f${tag}${field}`,
      heartbeat: `${this.#prefix}h${tag}${field}`,
      legacy: `${this.#prefix}tok:{${hash}}`,
    };
  }

  #window(tag: string, index: number): string {
    return `${this.#prefix}d${tag}${this.#log2}.${index}`;
  }

  /** The hash a record done at `nowMs` for `ttlMs` goes into, and when that hash expires (ms since the epoch). */
  doneHash(tag: string, nowMs: number, ttlMs: number): { key: string; expiresAtMs: number } {
    const index = Math.floor((nowMs + Math.min(ttlMs, this.ttlMs)) / 1000 / this.#windowS);
    return { key: this.#window(tag, index), expiresAtMs: (index + 1) * this.#windowS * 1000 + CLOCK_SKEW_MARGIN_MS };
  }

  /** The hashes a claim at `nowMs` looks in, `lookups` of them. */
  doneHashes(tag: string, nowMs: number): string[] {
    const first = Math.floor((nowMs - CLOCK_SKEW_MARGIN_MS) / 1000 / this.#windowS);
    return Array.from({ length: this.lookups }, (_, i) => this.#window(tag, first + i));
  }
}
