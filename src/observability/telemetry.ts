/**
 * The relay's spans, through the OpenTelemetry API only (no-ops unless tracing.ts started the
 * SDK). Trace context in message attributes lives in traceContext.ts, which producers use too.
 */
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { errorNameOf } from '../core/errors.js';

export const TRACER_NAME = 'sfn-failure-relay';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

export function queueName(queueUrl: string): string {
  return queueUrl.split('/').filter(Boolean).at(-1) ?? queueUrl;
}

/** Ends a span with an error type and status (`error.type` is the semantic-convention attribute). */
export function endWithError(span: Span, errorType: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
  span.end();
}

/**
 * Runs one SendTask* *attempt* (`operation`: SendTaskFailure, SendTaskSuccess, SendTaskHeartbeat) inside a CLIENT span. Called from a middleware inside the SDK's
 * retry loop (see stepFunctions.ts), so each retry is a span of its own (`http.request.resend_count`).
 * The AWS SDK instrumentation makes one span per `send()` and hides the retries, which is why the
 * relay does this itself.
 */
export async function traceAttempt<T>(
  attempt: number,
  run: () => Promise<T>,
  operation = 'SendTaskFailure',
): Promise<T> {
  const span = tracer().startSpan(`StepFunctions.${operation}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'rpc.system': 'aws-api',
      'rpc.service': 'StepFunctions',
      'rpc.method': operation,
      'http.request.resend_count': attempt - 1,
    },
  });
  try {
    const out = await context.with(trace.setSpan(context.active(), span), run);
    const status = (out as { response?: { statusCode?: number } }).response?.statusCode;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    span.end();
    return out;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    endWithError(span, errorNameOf(err));
    throw err;
  }
}
