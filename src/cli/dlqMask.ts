/**
 * Masking for everything the DLQ commands print: a task token is a bearer credential, shown only
 * with --show-tokens. One helper (`maskText`) for every printed field a producer could write
 * (body, error, detail, attribute values, origin), and binary values reduced to their size.
 */

import { parseEvent } from '../core/event.js';
import { scrub, shortHash, tokenHash } from '../core/secret.js';
import type { OriginSummary } from '../envelope/origin.js';
import type { DeadLetterInfo } from '../pipeline/deadLetter.js';
import { DEAD_LETTER_ATTRIBUTE } from '../pipeline/deadLetter.js';
import type { DlqRow } from './dlqRead.js';

/** A run of token characters in which `%XX` escapes count as part of the run. */
const ENCODED_RUN = /(?:[A-Za-z0-9+/=_-]|%[0-9A-Fa-f]{2})+/g;
/** The shape `scrub` masks, looked for in a run once its escapes are decoded. */
const TOKEN_SHAPED = /[A-Za-z0-9+/=_-]{32,}/;

function decodeEscapes(run: string): string {
  return run.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * Text with every token-shaped run masked: a long run of base64/UUID characters (scrub's rule),
 * also when it is percent-encoded (a run with `%XX` escapes that is token-shaped once decoded), so
 * an encoded token does not leak in the pieces between its escapes.
 */
export function maskText(text: string): string {
  const decoded = text.replace(ENCODED_RUN, (run) =>
    run.includes('%') && TOKEN_SHAPED.test(decodeEscapes(run)) ? '<redacted>' : run,
  );
  return scrub(decoded, undefined, Number.POSITIVE_INFINITY);
}

/**
 * The body with every task token in it replaced by `<token 5f0c1e2a9b3d>` (the short hash the
 * relay logs): the token the relay would have parsed, any `taskToken` value in a body it could
 * not parse, and, as a second line of defence, any run that looks like one (maskText).
 */
export function maskTokens(body: string): string {
  let out = body;
  const parsed = parseEvent(body);
  const tokens = new Set<string>();
  if (parsed.ok) tokens.add(parsed.event.taskToken);
  for (const m of body.matchAll(/\\*"taskToken\\*"\s*:\s*\\*"((?:[^"\\]|\\[^"])*)\\*"/g)) {
    if (m[1] !== undefined && m[1] !== '') tokens.add(m[1]);
  }
  for (const t of [...tokens].sort((a, b) => b.length - a.length)) {
    out = out.split(t).join(`<token ${shortHash(tokenHash(t))}>`);
  }
  return maskText(out);
}

/** The origin with its producer-chosen text (sources, types, ids) masked; `envelope` is the relay's. */
function maskOrigin(o: OriginSummary): OriginSummary {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, k === 'envelope' || typeof v !== 'string' ? v : maskText(v)]),
  ) as unknown as OriginSummary;
}

/**
 * The relay's record with the producer's values in it masked: the attribute values it kept inside
 * the JSON (`overflowAttributes`; a binary value shown as its size), the detail and the origin.
 * Its own fields (ids, hashes, times) stay readable.
 */
function maskInfo(info: DeadLetterInfo): DeadLetterInfo {
  const overflow = info.overflowAttributes;
  return {
    ...info,
    ...(info.detail === undefined ? {} : { detail: maskTokens(info.detail) }),
    ...(info.origin === undefined ? {} : { origin: maskOrigin(info.origin) }),
    ...(overflow === undefined
      ? {}
      : {
          overflowAttributes: Object.fromEntries(
            Object.entries(overflow).map(([name, v]) => [
              name,
              {
                DataType: v.DataType,
                ...(v.StringValue === undefined ? {} : { StringValue: maskTokens(v.StringValue) }),
                ...(v.BinaryValue === undefined
                  ? {}
                  : { BinaryValue: `(${Buffer.from(v.BinaryValue, 'base64').length} bytes)` }),
              },
            ]),
          ),
        }),
  };
}

/**
 * The row as printed: tokens masked unless asked for — in the body, the error, the producer's
 * attributes, and the relay's record (`info`, and the `sfn_relay.dead_letter` attribute that carries it).
 */
export function shown(row: DlqRow, showTokens: boolean): DlqRow {
  if (showTokens) return row;
  const info = row.info === undefined ? undefined : maskInfo(row.info);
  // Own properties (Object.fromEntries), so a producer's attribute named `__proto__` is listed too.
  const attributes: DlqRow['attributes'] = Object.fromEntries(
    Object.entries(row.attributes).map(([name, a]) => {
      const ours = name === DEAD_LETTER_ATTRIBUTE && info !== undefined;
      return [name, { ...a, Value: ours ? JSON.stringify(info) : maskTokens(a.Value) }];
    }),
  );
  return {
    ...row,
    info,
    error: row.error === undefined ? undefined : maskText(row.error),
    body: maskTokens(row.body),
    attributes,
  };
}
