/**
 * The failure event: envelope unwrap (plain | SNS notification | EventBridge event) and validation
 * to the limits of the Step Functions `SendTaskFailure` API. Pure and synchronous: the relay, the
 * `sfn-relay validate` command and `publishTaskFailure` all use this one validator.
 */

/** What `aws stepfunctions send-task-failure --generate-cli-skeleton` describes. */
export interface FailureEvent {
  taskToken: string;
  error?: string;
  cause?: string;
}

export type Envelope = 'plain' | 'sns' | 'eventbridge';

/** Reasons an event can never succeed; each is the `reason` a DLQ message carries. */
export const POISON_REASONS = [
  'body_too_large',
  'body_not_json',
  'body_not_object',
  'forbidden_key',
  'sns_message_not_json',
  'eventbridge_detail_missing',
  'token_missing',
  'token_not_string',
  'token_empty',
  'token_too_long',
  'token_invalid_character',
  'error_not_string',
  'cause_not_string',
  'error_too_long',
  'cause_too_long',
] as const;
export type PoisonReason = (typeof POISON_REASONS)[number];

export type ParseResult =
  | {
      ok: true;
      event: FailureEvent;
      envelope: Envelope;
      /** Fields shortened to fit the API (OVERLONG_TEXT=truncate). */
      truncated: ('error' | 'cause')[];
    }
  | { ok: false; reason: PoisonReason; detail: string };

export interface EventLimits {
  /** Bodies larger than this (UTF-8 bytes) are rejected before parsing. */
  maxBodyBytes: number;
  /** What to do with an `error`/`cause` longer than the API allows. */
  overlongText: 'truncate' | 'reject';
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
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const FORBIDDEN_HINT = /__proto__|constructor|prototype/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fail(reason: PoisonReason, detail: string): ParseResult {
  return { ok: false, reason, detail };
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Finds a prototype-polluting key anywhere in the value, without recursion (depth is unbounded). */
function findForbiddenKey(root: Json): string | undefined {
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (isObject(v)) {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return key;
        stack.push(v[key] as Json);
      }
    }
  }
  return undefined;
}

/** JSON.parse with the guards a queue consumer needs against hostile bodies. */
function parseJson(text: string): { ok: true; value: Json } | { ok: false; forbidden: boolean; detail: string } {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (err) {
    const kind = err instanceof RangeError ? 'JSON nested too deeply' : 'no valid JSON';
    return { ok: false, forbidden: false, detail: kind };
  }
  // JSON.parse itself never pollutes a prototype (it defines own properties), but code that later
  // merges the object might; an event has no business carrying such keys, so it is refused.
  // The substring test keeps the walk off the hot path.
  if (FORBIDDEN_HINT.test(text)) {
    const key = findForbiddenKey(value);
    if (key !== undefined) return { ok: false, forbidden: true, detail: `forbidden key "${key}"` };
  }
  return { ok: true, value };
}

function fitText(
  field: 'error' | 'cause',
  value: Json | undefined,
  max: number,
  limits: EventLimits,
  truncated: ('error' | 'cause')[],
): string | undefined | ParseResult {
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

/** Validates the inner `{taskToken, error, cause}` object. Unknown fields are ignored. */
export function validateEvent(candidate: Json, envelope: Envelope, limits: EventLimits = DEFAULT_LIMITS): ParseResult {
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
  const truncated: ('error' | 'cause')[] = [];
  const error = fitText('error', candidate.error, ERROR_MAX, limits, truncated);
  if (typeof error === 'object') return error;
  const cause = fitText('cause', candidate.cause, CAUSE_MAX, limits, truncated);
  if (typeof cause === 'object') return cause;

  const event: FailureEvent = { taskToken: token };
  if (error !== undefined) event.error = error;
  if (cause !== undefined) event.cause = cause;
  return { ok: true, event, envelope, truncated };
}

/** Parses an SQS message body into a failure event, unwrapping SNS and EventBridge envelopes. */
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
  const root = parsed.value;

  if (isObject(root) && root.Type === 'Notification' && 'Message' in root) {
    const message = root.Message;
    if (typeof message !== 'string') {
      return fail('sns_message_not_json', `SNS "Message" must be a string of JSON, got ${typeName(message)}`);
    }
    const inner = parseJson(message);
    if (!inner.ok) {
      return fail(inner.forbidden ? 'forbidden_key' : 'sns_message_not_json', `SNS "Message" has ${inner.detail}`);
    }
    return validateEvent(inner.value, 'sns', limits);
  }

  if (isObject(root) && 'detail-type' in root) {
    if (!isObject(root.detail)) {
      return fail(
        'eventbridge_detail_missing',
        `EventBridge event has no "detail" object (got ${typeName(root.detail)})`,
      );
    }
    return validateEvent(root.detail, 'eventbridge', limits);
  }

  return validateEvent(root, 'plain', limits);
}
