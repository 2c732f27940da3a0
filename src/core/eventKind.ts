/**
 * Which callback an inner event is (after its envelopes: one rule for plain bodies, SNS,
 * EventBridge and CloudEvents; a CloudEvent's `type` does not decide it) and the `output` rules of
 * SendTaskSuccess. Pure; event.ts calls it once the token is valid.
 *
 * - `"kind"`: `"failure" | "success" | "heartbeat"` (null or absent: not given; anything else:
 *   `kind_invalid`).
 * - An `"output"` field (not null) makes a success; `kind: "heartbeat"` is the only way to say
 *   heartbeat; neither: a failure, exactly as before.
 * - Conflicts (`kind_conflict`): `output` with `error`/`cause`; `kind: "failure"` with `output`;
 *   `kind: "heartbeat"` with `output`, `error` or `cause`; `kind: "success"` with `error`/`cause`.
 * - `kind_not_enabled`: a success or heartbeat the relay was not told to carry (CALLBACK_KINDS);
 *   never sent as a failure.
 */
import type { Json } from '../envelope/json.js';
import { typeName } from '../envelope/json.js';
import { type CallbackKind, isCallbackKind } from './kinds.js';

export const KIND_POISON_REASONS = [
  'kind_invalid',
  'kind_conflict',
  'kind_not_enabled',
  'output_missing',
  'output_not_string',
  'output_not_json',
  'output_too_large',
] as const;
export type KindPoisonReason = (typeof KIND_POISON_REASONS)[number];

/** SendTaskSuccess's limit on `output`, in UTF-8 bytes. */
export const OUTPUT_MAX_BYTES = 262_144;

export type KindVerdict =
  | { ok: true; kind: CallbackKind }
  | { ok: false; reason: KindPoisonReason; detail: string; kind?: CallbackKind };

const given = (v: Json | undefined): boolean => v !== undefined && v !== null;

/** The kind an event states or implies, checked against the conflicts and the enabled kinds. */
export function kindOf(event: Record<string, Json>, enabled?: ReadonlySet<CallbackKind>): KindVerdict {
  const stated = event.kind;
  if (given(stated) && (typeof stated !== 'string' || !isCallbackKind(stated))) {
    const shown = typeof stated === 'string' ? JSON.stringify(stated.slice(0, 40)) : typeName(stated);
    return {
      ok: false,
      reason: 'kind_invalid',
      detail: `"kind" must be "failure", "success" or "heartbeat", got ${shown}`,
    };
  }
  const hasOutput = given(event.output);
  const failureFields = ['error', 'cause'].filter((f) => given(event[f]));
  const kind: CallbackKind =
    typeof stated === 'string' && isCallbackKind(stated) ? stated : hasOutput ? 'success' : 'failure';
  const offending = [
    ...(hasOutput && kind !== 'success' ? ['"output"'] : []),
    ...(kind === 'failure' ? [] : failureFields.map((f) => `"${f}"`)),
  ];
  if (offending.length > 0) {
    const what = given(stated) ? `"kind": "${kind}"` : 'a success (it has "output")';
    return { ok: false, reason: 'kind_conflict', detail: `${what} cannot carry ${offending.join(' and ')}` };
  }
  if (enabled !== undefined && !enabled.has(kind)) {
    return {
      ok: false,
      reason: 'kind_not_enabled',
      detail: `${kind} callbacks are not enabled (CALLBACK_KINDS)`,
      kind,
    };
  }
  return { ok: true, kind };
}

/** The `output` of a success: a string of valid JSON text of at most OUTPUT_MAX_BYTES. */
export function checkOutput(
  output: Json | undefined,
): { ok: true; output: string } | { ok: false; reason: KindPoisonReason; detail: string } {
  if (!given(output)) return { ok: false, reason: 'output_missing', detail: 'a success needs "output"' };
  if (typeof output !== 'string') {
    return {
      ok: false,
      reason: 'output_not_string',
      detail: `"output" must be a string holding JSON text, got ${typeName(output)}`,
    };
  }
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (output.length * 3 > OUTPUT_MAX_BYTES) {
    const bytes = Buffer.byteLength(output, 'utf8');
    if (bytes > OUTPUT_MAX_BYTES) {
      return {
        ok: false,
        reason: 'output_too_large',
        detail: `"output" has ${bytes} bytes, the API allows ${OUTPUT_MAX_BYTES}`,
      };
    }
  }
  try {
    JSON.parse(output);
  } catch (err) {
    // The parser's message quotes the text around the error: say only where.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    const where = at === undefined ? '' : ` (at position ${at})`;
    return { ok: false, reason: 'output_not_json', detail: `"output" is not valid JSON text${where}` };
  }
  return { ok: true, output };
}
