/**
 * The in-process record of done tokens, compact enough to hold a day of them: no object and no
 * string per entry, only typed arrays sized once from a memory budget.
 *
 * - A key is the first 94 bits of the token's SHA-256 (three 32-bit words, the top two bits of
 *   the third cleared): at a million entries the chance that two tokens share one is about
 *   3 × 10⁻¹⁷. The two bits freed hold the kind that closed the token (failure, success,
 *   unknown), so the kind costs no byte.
 * - An open-addressing table with linear probing holds keys and expiry times (seconds after the
 *   table's epoch; 0 marks an empty slot); deletion shifts the following entries back, so there are
 *   no tombstones and never a rehash.
 * - A ring holds the records in the order they were written (a slot and an expiry per entry), and
 *   each slot the position of its record's current ring entry: an entry is live when its slot points
 *   back at it, stale when its record was written again since (or is gone). Done-records share one
 *   TTL, so the oldest expire first: expiry and eviction (when the budget is full) pop from the
 *   ring's head, a few thousand at a time, so no sweep ever blocks the event loop for long.
 * - The ring has a quarter more room than the table: stale entries never force out a live record
 *   while the table is under its budget. When the ring fills with stale entries it is compacted in
 *   place, live entries kept in order, in one pass with no hashing; that happens at most once per
 *   `maxEntries / 4` rewrites (a token recorded done twice: rare), and took 30–100 ms at a million
 *   records on the loaded 2-core test machine.
 *
 * Memory: ~37 bytes per entry (table at ≤ 75 % load: 26.7; ring: 8 × 1.25).
 */

import { createHash } from 'node:crypto';
import type { DoneKind } from '../../core/kinds.js';

const WORDS = 3;
/** The key bits of the third word; its top two bits hold the kind. */
const KEY_MASK = 0x3fffffff;
const KIND_SHIFT = 30;
const KIND_CODES: readonly DoneKind[] = ['failure', 'success', 'unknown'];
const HEX_PREFIX = /^[0-9a-f]{24}/;
const LOAD = 0.75;
/** Ring slots per table entry: the room stale entries may take before a compaction. */
const RING_SLACK = 1.25;

/** Bytes a table for `entries` done-records takes. */
export function bytesPerEntry(): number {
  return (WORDS * 4 + 4 + 4) / LOAD + (4 + 4) * RING_SLACK;
}

export function entriesForBudget(megabytes: number): number {
  return Math.max(1024, Math.floor((megabytes * 1024 * 1024) / bytesPerEntry()));
}

export class DoneTable {
  readonly #capacity: number;
  readonly #max: number;
  readonly #ringSize: number;
  readonly #epoch: number;
  readonly #keys: Uint32Array;
  readonly #exp: Uint32Array;
  /** Per slot: the ring position of its record's current entry. */
  readonly #at: Uint32Array;
  /** Per ring position: the slot of the record it was written for, and that write's expiry. */
  readonly #ringSlot: Uint32Array;
  readonly #ringExp: Uint32Array;
  #head = 0;
  #count = 0;
  #size = 0;
  readonly #k = new Uint32Array(WORDS);

  constructor(maxEntries: number, epochMs = Date.now()) {
    this.#max = Math.max(1, Math.floor(maxEntries));
    this.#capacity = Math.ceil(this.#max / LOAD) + 1;
    this.#epoch = epochMs - 1000;
    this.#keys = new Uint32Array(this.#capacity * WORDS);
    this.#exp = new Uint32Array(this.#capacity);
    this.#at = new Uint32Array(this.#capacity);
    this.#ringSize = Math.ceil(this.#max * RING_SLACK) + 1;
    this.#ringSlot = new Uint32Array(this.#ringSize);
    this.#ringExp = new Uint32Array(this.#ringSize);
  }

  /** Live entries (expired ones not yet swept included). */
  get size(): number {
    return this.#size;
  }

  get maxEntries(): number {
    return this.#max;
  }

  /** The bytes the typed arrays hold. */
  get bytes(): number {
    return (
      this.#keys.byteLength +
      this.#exp.byteLength +
      this.#at.byteLength +
      this.#ringSlot.byteLength +
      this.#ringExp.byteLength
    );
  }

  #seconds(ms: number): number {
    return Math.max(1, Math.ceil((ms - this.#epoch) / 1000));
  }

  /** `hash`: the token's SHA-256 in hex (anything else is hashed first, for tests and callers that pass names). */
  #load(hash: string): Uint32Array {
    if (!HEX_PREFIX.test(hash)) return this.#load(createHash('sha256').update(hash).digest('hex'));
    const k = this.#k;
    k[0] = Number.parseInt(hash.slice(0, 8), 16) >>> 0;
    k[1] = Number.parseInt(hash.slice(8, 16), 16) >>> 0;
    k[2] = (Number.parseInt(hash.slice(16, 24), 16) & KEY_MASK) >>> 0;
    return k;
  }

  #home(k0: number): number {
    return k0 % this.#capacity;
  }

  #matches(slot: number, k: Uint32Array): boolean {
    const o = slot * WORDS;
    return this.#keys[o] === k[0] && this.#keys[o + 1] === k[1] && ((this.#keys[o + 2] ?? 0) & KEY_MASK) === k[2];
  }

  /** The slot holding `k`, or -1. */
  #find(k: Uint32Array): number {
    for (let slot = this.#home(k[0] ?? 0); this.#exp[slot] !== 0; slot = (slot + 1) % this.#capacity) {
      if (this.#matches(slot, k)) return slot;
    }
    return -1;
  }

  /** Whether `hash` is done and not expired at `nowMs`. */
  has(hash: string, nowMs: number): boolean {
    return this.get(hash, nowMs) !== undefined;
  }

  /** The kind that closed `hash`, or undefined when it is not done (or expired) at `nowMs`. */
  get(hash: string, nowMs: number): DoneKind | undefined {
    const slot = this.#find(this.#load(hash));
    if (slot === -1 || (this.#exp[slot] ?? 0) <= this.#seconds(nowMs)) return undefined;
    return KIND_CODES[(this.#keys[slot * WORDS + 2] ?? 0) >>> KIND_SHIFT] ?? 'unknown';
  }

  /**
   * Records `hash` as done by `kind` until `expiresAtMs` (never earlier than it was; a record
   * already there keeps its kind: the first terminal callback wins, except that a definite kind
   * replaces `unknown`, never the reverse); the oldest record goes when the budget is full.
   */
  add(hash: string, expiresAtMs: number, kind: DoneKind = 'failure'): void {
    const k = this.#load(hash);
    const exp = this.#seconds(expiresAtMs);
    let slot = this.#find(k);
    if (slot === -1) {
      while (this.#size >= this.#max) this.#popOldest(Number.POSITIVE_INFINITY);
      // #popOldest may have shifted entries: look for the empty slot now.
      for (slot = this.#home(k[0] ?? 0); this.#exp[slot] !== 0; slot = (slot + 1) % this.#capacity);
      this.#keys.set(k, slot * WORDS);
      const third = slot * WORDS + 2;
      this.#keys[third] = ((this.#keys[third] ?? 0) | (KIND_CODES.indexOf(kind) << KIND_SHIFT)) >>> 0;
      this.#size += 1;
    } else {
      this.#settleKind(slot, kind);
      if (exp < (this.#exp[slot] ?? 0)) return;
    }
    this.#exp[slot] = exp;
    // A rewrite moves the record to the ring's tail; its earlier entry goes stale.
    this.#pushRing(slot, exp);
  }

  /** A definite kind (an accepted failure or success) replaces `unknown` (a TaskTimedOut). */
  #settleKind(slot: number, kind: DoneKind): void {
    const third = slot * WORDS + 2;
    const word = this.#keys[third] ?? 0;
    if (kind === 'unknown' || KIND_CODES[word >>> KIND_SHIFT] !== 'unknown') return;
    this.#keys[third] = ((word & KEY_MASK) | (KIND_CODES.indexOf(kind) << KIND_SHIFT)) >>> 0;
  }

  #pushRing(slot: number, exp: number): void {
    if (this.#count === this.#ringSize) this.#compact();
    const at = (this.#head + this.#count) % this.#ringSize;
    this.#ringSlot[at] = slot;
    this.#ringExp[at] = exp;
    this.#at[slot] = at;
    this.#count += 1;
  }

  /** Whether ring position `at` holds its record's current entry. */
  #live(at: number): boolean {
    const slot = this.#ringSlot[at] ?? 0;
    return this.#exp[slot] !== 0 && this.#at[slot] === at;
  }

  /**
   * Drops the stale entries of a full ring, keeping the live ones in order. The ring holds one live
   * entry per record (at most `maxEntries`), so this frees at least a fifth of it.
   */
  #compact(): void {
    let kept = 0;
    for (let i = 0; i < this.#count; i += 1) {
      const from = (this.#head + i) % this.#ringSize;
      if (!this.#live(from)) continue;
      const to = (this.#head + kept) % this.#ringSize;
      const slot = this.#ringSlot[from] ?? 0;
      this.#ringSlot[to] = slot;
      this.#ringExp[to] = this.#ringExp[from] ?? 0;
      this.#at[slot] = to;
      kept += 1;
    }
    this.#count = kept;
  }

  /**
   * Pops the ring's head if it expired by `nowSeconds` (Infinity: in any case); deletes its record
   * when the entry is the record's current one. Answers false when the head is not due.
   */
  #popOldest(nowSeconds: number): boolean {
    if (this.#count === 0) return false;
    if ((this.#ringExp[this.#head] ?? 0) > nowSeconds) return false;
    if (this.#live(this.#head)) this.#delete(this.#ringSlot[this.#head] ?? 0);
    this.#head = (this.#head + 1) % this.#ringSize;
    this.#count -= 1;
    return true;
  }

  /** Backward-shift deletion: entries after the hole that may move into it, do. */
  #delete(hole: number): void {
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) % this.#capacity;
      if (this.#exp[j] === 0) break;
      const home = this.#home(this.#keys[j * WORDS] ?? 0);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.#keys.copyWithin(i * WORDS, j * WORDS, j * WORDS + WORDS);
      this.#exp[i] = this.#exp[j] ?? 0;
      // The moved record's ring entry follows it.
      const at = this.#at[j] ?? 0;
      this.#at[i] = at;
      this.#ringSlot[at] = i;
      i = j;
    }
    this.#exp[i] = 0;
    this.#size -= 1;
  }

  /**
   * Drops up to `budget` expired records, oldest first; answers how many ring entries it consumed.
   * Called often with a small budget, it never blocks the event loop for long.
   */
  sweep(nowMs: number, budget = 2000): number {
    const now = this.#seconds(nowMs);
    let n = 0;
    while (n < budget && this.#popOldest(now)) n += 1;
    return n;
  }

  clear(): void {
    this.#exp.fill(0);
    this.#head = 0;
    this.#count = 0;
    this.#size = 0;
  }
}
