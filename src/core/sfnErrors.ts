/**
 * How Step Functions' answers are classed: by error name (a Map), else by HTTP status and the
 * network codes. The same table for every callback kind.
 */

export type ErrorClass =
  | { kind: 'closed' }
  | { kind: 'dead'; reason: 'sfn_invalid_token' | 'sfn_task_does_not_exist' | 'sfn_invalid_request' }
  | { kind: 'retry'; cause: 'throttled' | 'unavailable' | 'unexpected' | 'unauthorized' };

/**
 * Error names answered by Step Functions (or a proxy): outside strings. A Map, so that a name such as
 * `constructor`, `toString` or `__proto__` finds nothing instead of an Object.prototype member. No
 * name means `interrupted`: only the relay's own aborted signal does (an endpoint answering
 * `AbortError` would otherwise loop a message with no delay). The blameless names claim
 * `unauthorized`: wholesale, so an endpoint saying it for every message opens the breaker; a Kms*
 * one may be one task's key (an operator or the source's redrive policy ends it).
 */
const BY_NAME: ReadonlyMap<string, ErrorClass> = new Map(
  Object.entries({
    TaskTimedOut: { kind: 'closed' },
    InvalidToken: { kind: 'dead', reason: 'sfn_invalid_token' },
    TaskDoesNotExist: { kind: 'dead', reason: 'sfn_task_does_not_exist' },
    ValidationException: { kind: 'dead', reason: 'sfn_invalid_request' },
    InvalidParameterValue: { kind: 'dead', reason: 'sfn_invalid_request' },
    SerializationException: { kind: 'dead', reason: 'sfn_invalid_request' },
    // SendTaskSuccess's own refusal of an output (the relay checks it first; the service may still differ).
    InvalidOutput: { kind: 'dead', reason: 'sfn_invalid_request' },
    ThrottlingException: { kind: 'retry', cause: 'throttled' },
    KmsThrottlingException: { kind: 'retry', cause: 'throttled' },
    TooManyRequestsException: { kind: 'retry', cause: 'throttled' },
    AccessDeniedException: { kind: 'retry', cause: 'unauthorized' },
    UnrecognizedClientException: { kind: 'retry', cause: 'unauthorized' },
    InvalidSignatureException: { kind: 'retry', cause: 'unauthorized' },
    SignatureDoesNotMatch: { kind: 'retry', cause: 'unauthorized' },
    IncompleteSignature: { kind: 'retry', cause: 'unauthorized' },
    MissingAuthenticationToken: { kind: 'retry', cause: 'unauthorized' },
    InvalidClientTokenId: { kind: 'retry', cause: 'unauthorized' },
    ExpiredTokenException: { kind: 'retry', cause: 'unauthorized' },
    ExpiredToken: { kind: 'retry', cause: 'unauthorized' },
    CredentialsProviderError: { kind: 'retry', cause: 'unauthorized' },
    KmsAccessDeniedException: { kind: 'retry', cause: 'unauthorized' },
    KmsInvalidStateException: { kind: 'retry', cause: 'unauthorized' },
  } satisfies Record<string, ErrorClass>),
);

/** Node's codes for a connection that failed or was cut. */
export const NODE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const NETWORK = new Set([
  ...NODE_NETWORK_CODES,
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalServerError',
]);

/** Maps a Step Functions error to its class; unknown errors are retried, never dropped. */
export function classifyError(errorName: string, httpStatus: number | undefined): ErrorClass {
  const known = BY_NAME.get(errorName);
  if (known !== undefined) return known;
  if (httpStatus === 429) return { kind: 'retry', cause: 'throttled' };
  if (NETWORK.has(errorName) || httpStatus === undefined || httpStatus >= 500) {
    return { kind: 'retry', cause: 'unavailable' };
  }
  return { kind: 'retry', cause: 'unexpected' };
}
