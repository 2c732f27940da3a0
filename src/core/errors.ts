import { scrub } from './secret.js';

/**
 * One base error for everything the relay throws on purpose. `code` is stable (tests, logs and
 * operators match on it); `cause` keeps the underlying error without putting its text in `message`.
 */
export class RelayError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayError';
    this.code = code;
  }
}

/** Start-up configuration is wrong; `message` names every bad variable. */
export class ConfigError extends RelayError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A failure event that can never be delivered; `reason` is the DLQ reason code. */
export class InvalidEventError extends RelayError {
  readonly reason: string;

  constructor(reason: string, message: string) {
    super('EVENT_INVALID', message);
    this.name = 'InvalidEventError';
    this.reason = reason;
  }
}

/**
 * The name to record for an error thrown by a client: the AWS error code (`name`), or, for Node's
 * network errors whose name is just `Error`, their `code` (`ECONNRESET`). Never the message, which
 * may quote a task token. The name is an endpoint's too: it is made safe (`safeErrorName`).
 */
export function errorNameOf(err: unknown): string {
  const e = (err ?? {}) as { name?: unknown; code?: unknown };
  return safeErrorName(
    e.code !== undefined && (e.name === 'Error' || e.name === undefined) ? e.code : (e.name ?? 'Error'),
  );
}

const SAFE_ERROR_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

/**
 * An error name written by an endpoint (`x-amzn-errortype`, `__type`, `code`, an SDK error's name),
 * made safe to record in a log line, a metric label, a span and a DLQ detail: the part after `#`
 * and before `:` (as the SDK reads it), kept only in a bounded shape with nothing token-shaped in
 * it (scrub), else `UnknownError`.
 */
export function safeErrorName(raw: unknown, token?: string): string {
  if (typeof raw !== 'string') return 'UnknownError';
  const name = raw.split('#').at(-1)?.split(':')[0]?.trim() ?? '';
  return SAFE_ERROR_NAME.test(name) && scrub(name, token, 64) === name ? name : 'UnknownError';
}
