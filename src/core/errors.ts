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
 * may quote a task token.
 */
export function errorNameOf(err: unknown): string {
  const e = (err ?? {}) as { name?: string; code?: string };
  return e.code !== undefined && (e.name === 'Error' || e.name === undefined) ? e.code : (e.name ?? 'Error');
}
