/** The vocabulary of a Step Functions answer, shared by the clients that make calls and the classifier that reads them. */
import type { CallbackEvent } from './event.js';

/** What one SendTask* call (failure, success, heartbeat) came to, after the SDK's own retries. Never carries the token. */
export type SendResult =
  | { ok: true; attempts: number }
  | {
      ok: false;
      /** The service's error code (`TaskTimedOut`, `ThrottlingException`, …) or the client's (`TimeoutError`, `ECONNRESET`). */
      errorName: string;
      httpStatus: number | undefined;
      attempts: number;
      /** The error message with the token and anything token-shaped removed. */
      message: string;
    };

/** The shortest beginning of a sensitive field looked for in a message. */
const ECHO_PREFIX = 32;

/**
 * The answer without message text that may quote the request's sensitive fields (`output`, `cause`,
 * `error`: sensitive in the Step Functions API model): a success's message is never kept (a 400
 * such as `Invalid output: '…'` quotes the output), a failure's is dropped when it contains its
 * `cause` or `error` (or their first 32 characters). What is left: the error name and HTTP status.
 */
export function withoutEcho(result: SendResult, event: CallbackEvent): SendResult {
  if (result.ok || result.message === '') return result;
  if (event.kind === 'success' || echoes(result.message, event)) return { ...result, message: '' };
  return result;
}

function echoes(message: string, event: CallbackEvent): boolean {
  if (event.kind !== 'failure') return false;
  return [event.cause, event.error].some(
    (v) => v !== undefined && v.length >= 4 && message.includes(v.slice(0, ECHO_PREFIX)),
  );
}
