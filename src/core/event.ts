/**
 * The callback event: envelopes taken off (src/envelope/: SNS, EventBridge, CloudEvents), its kind
 * decided (eventKind.ts) and the event validated to the limits of the Step Functions
 * `SendTaskFailure` / `SendTaskSuccess` / `SendTaskHeartbeat` APIs. Pure and synchronous: the
 * relay, the `sfn-relay validate` command and the publish API all use this one validator.
 */
import { isObject, type Json, parseJson, typeName } from '../envelope/json.js';
import { type Origin, unwrap } from '../envelope/unwrap.js';
import { checkOutput, KIND_POISON_REASONS, kindOf } from './eventKind.js';
import type { CallbackKind } from './kinds.js';

export type { Origin } from '../envelope/unwrap.js';

/** What `aws stepfunctions send-task-failure --generate-cli-skeleton` describes. */
export interface FailureEvent {
  kind: 'failure';
  taskToken: string;
  error?: string;
  cause?: string;
}

/** What `send-task-success` takes: `output` is JSON text of at most 256 KiB (sensitive, like `cause`). */
export interface SuccessEvent {
  kind: 'success';
  taskToken: string;
  output: string;
}

export interface HeartbeatEvent {
  kind: 'heartbeat';
  taskToken: string;
}

export type CallbackEvent = FailureEvent | SuccessEvent | HeartbeatEvent;

/** Reasons an event can never succeed; each is the `reason` a DLQ message carries. */
export const POISON_REASONS = [
  'body_too_large',
  'body_not_json',
  'body_not_object',
  'forbidden_key',
  'sns_message_not_json',
  'eventbridge_detail_missing',
  'cloudevent_invalid',
  'cloudevent_data_missing',
  'cloudevent_data_not_json',
  'envelope_too_deep',
  'token_missing',
  'token_not_string',
  'token_empty',
  'token_too_long',
  'token_invalid_character',
  'error_not_string',
  'cause_not_string',
  'error_too_long',
  'cause_too_long',
  ...KIND_POISON_REASONS,
] as const;
export type PoisonReason = (typeof POISON_REASONS)[number];

export type Validated =
  | {
      ok: true;
      event: CallbackEvent;
      /** Fields shortened to fit the API (OVERLONG_TEXT=truncate). */
      truncated: ('error' | 'cause')[];
    }
  | { ok: false; reason: PoisonReason; detail: string; kind?: CallbackKind };

/** A body parsed: the event or why not, and where it came from as far as its envelopes tell. */
export type ParseResult =
  | {
      ok: true;
      event: CallbackEvent;
      truncated: ('error' | 'cause')[];
      origin: Origin;
      /** The outermost SNS notification as received (for signature verification). */
      snsNotification?: Record<string, Json>;
    }
  | {
      ok: false;
      reason: PoisonReason;
      detail: string;
      /** The kind, when the body said it clearly enough (kind_not_enabled, output_*). */
      kind?: CallbackKind;
      origin?: Origin;
      snsNotification?: Record<string, Json>;
    };

export interface EventLimits {
  /** Bodies larger than this (UTF-8 bytes) are rejected before parsing. */
  maxBodyBytes: number;
  /** What to do with an `error`/`cause` longer than the API allows. */
  overlongText: 'truncate' | 'reject';
  /**
   * The kinds the relay carries (CALLBACK_KINDS); another kind is `kind_not_enabled`. Absent: every
   * kind is accepted (the CLI's `validate` and the publish API, which do not know the relay's setting).
   */
  kinds?: ReadonlySet<CallbackKind>;
}

/** Step Functions API limits for SendTaskFailure. */
export const TOKEN_MAX = 2048;
export const ERROR_MAX = 256;
export const CAUSE_MAX = 32_768;
export const TRUNCATION_MARKER = '…[truncated]';

export const DEFAULT_LIMITS: EventLimits = { maxBodyBytes: 1_048_576, overlongText: 'truncate' };

// Whitespace, control and format characters, lone surrogates and U+FFFD (the mark of bytes that
// were not valid UTF-8) cannot be in a real token. No charset is assumed beyond that: real tokens
// are long base64-like strings, emulator tokens are UUIDs.
const BAD_TOKEN_CHAR = /[\s\p{Cc}\p{Cf}\p{Cs}\uFFFD]/u;

function fail(reason: PoisonReason, detail: string): Validated & { ok: false } {
  return { ok: false, reason, detail };
}

function fitText(
  field: 'error' | 'cause',
  value: Json | undefined,
  max: number,
  limits: EventLimits,
  truncated: ('error' | 'cause')[],
): string | undefined | Validated {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    return fail(`${field}_not_string`, `"${field}" must be a string, got ${typeName(value)}`);
  }
  if (value.length <= max) return value;
  if (limits.overlongText === 'reject') {
    return fail(`${field}_too_long`, `"${field}" has ${value.length} characters, the API allows ${max}`);
  }
  truncated.push(field);
  let keep = max - TRUNCATION_MARKER.length;
  // Never cut a surrogate pair in half: the API would reject the lone surrogate.
  const code = value.charCodeAt(keep - 1);
  if (code >= 0xd800 && code <= 0xdbff) keep -= 1;
  return value.slice(0, keep) + TRUNCATION_MARKER;
}

/** Validates the inner `{taskToken, kind?, error?, cause?, output?}` object. Unknown fields are ignored. */
export function validateEvent(candidate: Json, limits: EventLimits = DEFAULT_LIMITS): Validated {
  if (!isObject(candidate)) {
    return fail('body_not_object', `the event must be a JSON object, got ${typeName(candidate)}`);
  }
  const token = candidate.taskToken;
  if (token === undefined || token === null) return fail('token_missing', '"taskToken" is missing');
  if (typeof token !== 'string') {
    return fail('token_not_string', `"taskToken" must be a string, got ${typeName(token)}`);
  }
  if (token.length === 0) return fail('token_empty', '"taskToken" is empty');
  if (token.length > TOKEN_MAX) {
    return fail('token_too_long', `"taskToken" has ${token.length} characters, the API allows ${TOKEN_MAX}`);
  }
  const bad = BAD_TOKEN_CHAR.exec(token);
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0;
    return fail(
      'token_invalid_character',
      `"taskToken" contains U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${bad.index}`,
    );
  }
  const kind = kindOf(candidate, limits.kinds);
  if (!kind.ok) return kind;
  if (kind.kind === 'heartbeat') return { ok: true, event: { kind: 'heartbeat', taskToken: token }, truncated: [] };
  if (kind.kind === 'success') {
    const output = checkOutput(candidate.output);
    if (!output.ok) return { ...output, kind: 'success' };
    return { ok: true, event: { kind: 'success', taskToken: token, output: output.output }, truncated: [] };
  }
  const truncated: ('error' | 'cause')[] = [];
  const error = fitText('error', candidate.error, ERROR_MAX, limits, truncated);
  if (typeof error === 'object') return error;
  const cause = fitText('cause', candidate.cause, CAUSE_MAX, limits, truncated);
  if (typeof cause === 'object') return cause;

  const event: FailureEvent = { kind: 'failure', taskToken: token };
  if (error !== undefined) event.error = error;
  if (cause !== undefined) event.cause = cause;
  return { ok: true, event, truncated };
}

/** Parses an SQS message body into a callback event, taking off its envelopes. */
export function parseEvent(body: string | undefined, limits: EventLimits = DEFAULT_LIMITS): ParseResult {
  const text = body ?? '';
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  if (text.length * 3 > limits.maxBodyBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limits.maxBodyBytes) {
      return fail('body_too_large', `body has ${bytes} bytes, the limit is ${limits.maxBodyBytes}`);
    }
  }
  const parsed = parseJson(text);
  if (!parsed.ok) {
    return fail(parsed.forbidden ? 'forbidden_key' : 'body_not_json', `body has ${parsed.detail}`);
  }
  const unwrapped = unwrap(parsed.value);
  if (!unwrapped.ok) return unwrapped;
  const { origin, snsNotification } = unwrapped;
  const valid = validateEvent(unwrapped.event, limits);
  const sns = snsNotification === undefined ? {} : { snsNotification };
  return { ...valid, origin, ...sns };
}

/**
 * The body a producer writes for an event: a failure without `kind` (as before kinds existed, so
 * an older relay reads it the same), a success as `send-task-success` takes it, a heartbeat with
 * its marker. Fields in the order the AWS CLI's skeletons list them.
 */
export function producerBody(event: CallbackEvent): Record<string, string> {
  if (event.kind === 'heartbeat') return { taskToken: event.taskToken, kind: 'heartbeat' };
  if (event.kind === 'success') return { taskToken: event.taskToken, output: event.output };
  const { kind: _kind, ...failure } = event;
  return failure;
}
