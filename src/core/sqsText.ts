/**
 * SQS's character set for message bodies, which it applies to String attribute values too: #x9,
 * #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD, #x10000–#x10FFFF. Anything the relay writes into a message
 * (its own attributes) must stay inside it, or SQS refuses the whole send.
 */

/** One code unit or code point outside the set (with `u`, a lone surrogate matches on its own). */
const OUTSIDE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Whether SQS accepts `text` as a body or a String attribute value. */
export function isSqsText(text: string): boolean {
  OUTSIDE.lastIndex = 0;
  return !OUTSIDE.test(text);
}

/**
 * JSON for an attribute value, inside SQS's set. `JSON.stringify` already escapes control
 * characters and lone surrogates; it leaves U+FFFE and U+FFFF raw, which SQS refuses. Every
 * character outside the set becomes a `\uXXXX` escape: the same JSON once parsed.
 */
export function sqsSafeJson(value: unknown): string {
  // Every character outside the set is a single UTF-16 code unit (none lies above the BMP).
  return JSON.stringify(value).replace(OUTSIDE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
