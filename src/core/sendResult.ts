/** The vocabulary of a Step Functions answer, shared by the clients that make calls and the classifier that reads them. */

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
