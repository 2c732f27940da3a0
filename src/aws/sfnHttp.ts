import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { Pool } from 'undici';
import { apiRequest } from '../core/apiInput.js';
import { safeErrorName } from '../core/errors.js';
import type { CallbackEvent, FailureEvent, HeartbeatEvent, SuccessEvent } from '../core/event.js';
import { NODE_NETWORK_CODES } from '../core/outcome.js';
import { scrub } from '../core/secret.js';
import { traceAttempt } from '../observability/telemetry.js';
import { Signer } from './sigv4.js';
import type { SendResult } from './stepFunctions.js';

/** The awsJson1_0 target of an operation (`AWSStepFunctions.SendTaskFailure`, …). */
const target = (operation: string) => `AWSStepFunctions.${operation}`;

export function defaultEndpoint(region: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://states.${region}.${suffix}`;
}

/** The error code of an AWS JSON-protocol error response, as the SDK reads it, made safe (safeErrorName). */
export function errorCodeOf(headers: Record<string, string | string[] | undefined>, body: string): string {
  const header = headers['x-amzn-errortype'];
  const fromHeader = (Array.isArray(header) ? header[0] : header)?.split(':')[0];
  if (fromHeader) return safeErrorName(fromHeader);
  try {
    const parsed = JSON.parse(body) as { __type?: string; code?: string; Code?: string };
    const type = parsed.__type ?? parsed.code ?? parsed.Code;
    if (typeof type === 'string' && type !== '') return safeErrorName(type);
  } catch {
    // not JSON
  }
  // The SDK's name for an error response it cannot read.
  return 'Unknown';
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KmsThrottlingException',
]);
const CLOCK_SKEW = new Set([
  'RequestTimeTooSkewed',
  'RequestExpired',
  'RequestInTheFuture',
  'InvalidSignatureException',
]);

/** The SDK's standard retry quota: a bucket that retries draw from and successes refill. */
class RetryBudget {
  #tokens = 500;
  take(cost: number): boolean {
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }
  refund(amount: number): void {
    this.#tokens = Math.min(500, this.#tokens + amount);
  }
}

export interface LeanClientOptions {
  region: string;
  endpoint: string | undefined;
  maxAttempts: number;
  requestTimeoutMs: number;
  credentials: AwsCredentialIdentityProvider;
  /** Injected in tests. */
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Answer {
  status: number;
  errorName?: string;
  message?: string;
  date?: string;
}

export class LeanSfnClient {
  readonly #o: LeanClientOptions;
  readonly #pool: Pool;
  readonly #host: string;
  readonly #signer: Signer;
  readonly #budget = new RetryBudget();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #creds: AwsCredentialIdentity | undefined;
  #credsPending: Promise<AwsCredentialIdentity> | undefined;
  #skewMs = 0;

  constructor(o: LeanClientOptions) {
    this.#o = o;
    const url = new URL(o.endpoint ?? defaultEndpoint(o.region));
    this.#host = url.host;
    this.#pool = new Pool(url.origin, {
      connections: 128,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(o.requestTimeoutMs, 3000) },
    });
    this.#signer = new Signer(o.region);
    this.#now = o.now ?? Date.now;
    this.#random = o.random ?? Math.random;
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Cached credentials, refreshed five minutes before they expire. */
  async #credentials(): Promise<AwsCredentialIdentity> {
    const c = this.#creds;
    if (c !== undefined && (c.expiration === undefined || c.expiration.getTime() - this.#now() > 300_000)) return c;
    this.#credsPending ??= Promise.resolve(this.#o.credentials()).finally(() => {
      this.#credsPending = undefined;
    });
    this.#creds = await this.#credsPending;
    return this.#creds;
  }

  async #attempt(operation: string, body: string, creds: AwsCredentialIdentity): Promise<Answer> {
    const headers = this.#signer.sign(this.#host, target(operation), body, creds, this.#now() + this.#skewMs);
    const res = await this.#pool.request({
      method: 'POST',
      path: '/',
      headers,
      body,
      headersTimeout: this.#o.requestTimeoutMs,
      bodyTimeout: this.#o.requestTimeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode };
    let message = '';
    try {
      const parsed = JSON.parse(text) as { message?: string; Message?: string };
      message = parsed.message ?? parsed.Message ?? '';
    } catch {
      message = text.slice(0, 200);
    }
    const date = res.headers.date;
    return {
      status: res.statusCode,
      errorName: errorCodeOf(res.headers, text),
      message,
      ...(typeof date === 'string' ? { date } : {}),
    };
  }

  /** The call a callback event asks for (KIND_RULES): same contract as the SDK path, never throws, never carries the token. */
  send(event: CallbackEvent): Promise<SendResult> {
    const { operation, input } = apiRequest(event);
    return this.#send(operation, JSON.stringify(input), event.taskToken);
  }

  sendTaskFailure(event: Omit<FailureEvent, 'kind'>): Promise<SendResult> {
    return this.send({ ...event, kind: 'failure' });
  }

  sendTaskSuccess(event: Omit<SuccessEvent, 'kind'>): Promise<SendResult> {
    return this.send({ ...event, kind: 'success' });
  }

  sendTaskHeartbeat(event: Omit<HeartbeatEvent, 'kind'>): Promise<SendResult> {
    return this.send({ ...event, kind: 'heartbeat' });
  }

  async #send(operation: string, body: string, token: string): Promise<SendResult> {
    let creds: AwsCredentialIdentity;
    try {
      creds = await this.#credentials();
    } catch (err) {
      return {
        ok: false,
        errorName: 'CredentialsProviderError',
        httpStatus: undefined,
        attempts: 0,
        message: scrub(String((err as Error)?.message), token),
      };
    }
    let skewRetried = false;
    for (let attempt = 1; ; attempt += 1) {
      let answer: Answer;
      try {
        answer = await traceAttempt(
          attempt,
          async () => {
            const a = await this.#attempt(operation, body, creds);
            if (a.errorName !== undefined) {
              // Thrown inside the span so it records error.type; caught just below.
              throw Object.assign(new Error(a.errorName), {
                name: a.errorName,
                $metadata: { httpStatusCode: a.status },
                answer: a,
              });
            }
            return { response: { statusCode: a.status }, answer: a };
          },
          operation,
        ).then((r) => r.answer);
      } catch (err) {
        const e = err as { answer?: Answer; code?: string; name?: string; message?: string };
        answer = e.answer ?? {
          status: 0,
          errorName:
            e.code !== undefined && NODE_NETWORK_CODES.has(e.code)
              ? e.code
              : e.name === 'HeadersTimeoutError' || e.name === 'BodyTimeoutError' || e.name === 'ConnectTimeoutError'
                ? 'TimeoutError'
                : (e.code ?? e.name ?? 'Error'),
          message: String(e.message ?? ''),
        };
      }
      if (answer.errorName === undefined) {
        this.#budget.refund(1);
        return { ok: true, attempts: attempt };
      }
      const name = answer.errorName;
      const status = answer.status === 0 ? undefined : answer.status;
      const result: SendResult = {
        ok: false,
        errorName: name,
        httpStatus: status,
        attempts: attempt,
        message: scrub(answer.message ?? '', token),
      };
      if (CLOCK_SKEW.has(name) && !skewRetried && answer.date !== undefined) {
        // The server's clock is the one that counts: sign with its time and try once more.
        const serverNow = Date.parse(answer.date);
        if (Number.isFinite(serverNow) && Math.abs(serverNow - this.#now()) > 60_000) {
          this.#skewMs = serverNow - this.#now();
          skewRetried = true;
          continue;
        }
      }
      const throttled = THROTTLING.has(name) || status === 429;
      const transient = status === undefined ? name !== 'AbortError' : [500, 502, 503, 504].includes(status);
      if (attempt >= this.#o.maxAttempts || !(throttled || transient)) return result;
      if (!this.#budget.take(name === 'TimeoutError' ? 10 : 5)) return result;
      // Exponential backoff with full jitter, as the SDK's standard strategy (throttling starts higher).
      const base = throttled ? 500 : 100;
      await this.#sleep(this.#random() * Math.min(20_000, base * 2 ** (attempt - 1)));
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
