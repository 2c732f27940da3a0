import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type ApiRequest, apiRequest } from '../core/apiInput.js';
import { errorNameOf, safeErrorName } from '../core/errors.js';
import type { CallbackEvent, FailureEvent } from '../core/event.js';
import { scrub } from '../core/secret.js';
import type { SendResult } from '../core/sendResult.js';
import { traceAttempt } from '../observability/telemetry.js';

export type { SendResult } from '../core/sendResult.js';

export interface SfnClientSettings {
  region: string;
  endpoint: string | undefined;
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive';
  requestTimeoutMs: number;
}

/**
 * The SDK's standard and adaptive retry strategies already retry throttling, 5xx, timeouts and
 * connection resets with exponential backoff and full jitter, but `KmsThrottlingException` is not
 * in their list. Marking it with the `$retryable` trait makes the SDK treat it as throttling too,
 * instead of a second retry loop of our own.
 */
const markKmsThrottlingRetryable = {
  applyToStack(stack: SFNClient['middlewareStack']) {
    stack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if ((err as Error)?.name === 'KmsThrottlingException') {
            Object.assign(err as object, { $retryable: { throttling: true } });
          }
          throw err;
        }
      },
      // Inside the retry middleware (finalizeRequest, high), so it sees the error first.
      { step: 'finalizeRequest', priority: 'low', name: 'markKmsThrottlingRetryable' },
    );
  },
};

/** The relay's SDK commands: a span per attempt of each. */
const TRACED = new Set(['SendTaskFailureCommand', 'SendTaskSuccessCommand', 'SendTaskHeartbeatCommand']);

/** A CLIENT span per SendTask* attempt (inside the retry middleware, so retries show). */
const attemptSpans = {
  applyToStack(stack: SFNClient['middlewareStack']) {
    stack.add(
      (next, context) => (args) => {
        if (!TRACED.has(context.commandName ?? '')) return next(args);
        const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers;
        const attempt = Number(/attempt=(\d+)/.exec(headers?.['amz-sdk-request'] ?? '')?.[1] ?? '1');
        return traceAttempt(attempt, () => next(args), (context.commandName ?? '').replace(/Command$/, ''));
      },
      { step: 'finalizeRequest', priority: 'low', name: 'sfnRelayAttemptSpans' },
    );
  },
};

export function createSfnClient(s: SfnClientSettings): SFNClient {
  const agentOptions = { keepAlive: true, maxSockets: 256 };
  const client = new SFNClient({
    region: s.region,
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    maxAttempts: s.maxAttempts,
    retryMode: s.retryMode,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(s.requestTimeoutMs, 3000),
      requestTimeout: s.requestTimeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new Agent(agentOptions),
    }),
  });
  client.middlewareStack.use(markKmsThrottlingRetryable);
  client.middlewareStack.use(attemptSpans);
  return client;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/** Turns whatever the SDK threw into a SendResult; the classifier in outcome.ts decides what it means. */
export function toSendResult(err: unknown, token: string | undefined): SendResult {
  const e = (err ?? {}) as SdkErrorShape;
  return {
    ok: false,
    errorName: safeErrorName(errorNameOf(err), token),
    httpStatus: e.$metadata?.httpStatusCode,
    attempts: e.$metadata?.attempts ?? 1,
    message: scrub(String(e.message ?? ''), token),
  };
}

/** The SDK command for a request (KIND_RULES names the operation). */
function command(r: ApiRequest) {
  const { taskToken, error, cause, output } = r.input;
  if (r.operation === 'SendTaskSuccess') return new SendTaskSuccessCommand({ taskToken, output: output ?? '' });
  if (r.operation === 'SendTaskHeartbeat') return new SendTaskHeartbeatCommand({ taskToken });
  return new SendTaskFailureCommand({ taskToken, error, cause });
}

/** The call a callback event asks for (with the SDK's in-process retries). Never throws. */
export async function sendCallback(client: SFNClient, event: CallbackEvent, signal?: AbortSignal): Promise<SendResult> {
  try {
    // One union of commands: the client's overloads take them one at a time.
    const out = await client.send(
      command(apiRequest(event)) as SendTaskFailureCommand,
      signal === undefined ? {} : { abortSignal: signal },
    );
    return { ok: true, attempts: out.$metadata.attempts ?? 1 };
  } catch (err) {
    return toSendResult(err, event.taskToken);
  }
}

/** One `SendTaskFailure` call (with the SDK's in-process retries). Never throws. */
export function sendTaskFailure(
  client: SFNClient,
  event: Omit<FailureEvent, 'kind'>,
  signal?: AbortSignal,
): Promise<SendResult> {
  return sendCallback(client, { ...event, kind: 'failure' }, signal);
}
