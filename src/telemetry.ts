/**
 * OpenTelemetry: the SDK (configured by the standard OTEL_* variables) and the relay's spans. Trace
 * context in message attributes lives in traceContext.ts, which producers use without the SDK.
 */
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { errorNameOf } from './errors.js';

export const TRACER_NAME = 'sfn-failure-relay';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

export interface Telemetry {
  /** Flushes and stops exporting; call on shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for the service. Everything is configured the standard way:
 * `OTEL_TRACES_EXPORTER` (default `otlp`; `none` turns tracing off), `OTEL_EXPORTER_OTLP_*`
 * (OTLP over HTTP by default), `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SDK_DISABLED`. Metrics stay on `/metrics` (prom-client), so
 * the SDK's metric and log exporters default to `none`.
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): Telemetry {
  env.OTEL_SERVICE_NAME ??= 'sfn-failure-relay';
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  // Smaller, more frequent export batches: serialising the default 512 spans at once stalls the
  // event loop for tens of milliseconds, which showed as the relay's p99 latency. Same total work.
  env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ??= '128';
  env.OTEL_BSP_SCHEDULE_DELAY ??= '500';
  // A collector that hangs must not hold an export (or the shutdown flush) for the SDK's 30 s.
  env.OTEL_BSP_EXPORT_TIMEOUT ??= '5000';
  env.OTEL_EXPORTER_OTLP_TIMEOUT ??= env.OTEL_BSP_EXPORT_TIMEOUT;
  if (env.OTEL_SDK_DISABLED === 'true') return { shutdown: async () => undefined };
  // No auto-instrumentation: the spans that matter (one per message, one per SendTaskFailure
  // attempt, one per DLQ send) are the relay's own, and patching every SQS call would cost CPU.
  const sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
  const flushMs = Number(env.OTEL_BSP_EXPORT_TIMEOUT);
  return {
    // Bounded: spans not flushed by then are lost, the process is not held.
    shutdown: () =>
      Promise.race([
        sdk.shutdown(),
        new Promise<void>((resolve) => setTimeout(resolve, Number.isFinite(flushMs) ? flushMs : 5000).unref()),
      ]),
  };
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
 * Runs one SendTaskFailure *attempt* inside a CLIENT span. Called from a middleware inside the SDK's
 * retry loop (see stepFunctions.ts), so each retry is a span of its own (`http.request.resend_count`).
 * The AWS SDK instrumentation makes one span per `send()` and hides the retries, which is why the
 * relay does this itself.
 */
export async function traceAttempt<T>(attempt: number, run: () => Promise<T>): Promise<T> {
  const span = tracer().startSpan('StepFunctions.SendTaskFailure', {
    kind: SpanKind.CLIENT,
    attributes: {
      'rpc.system': 'aws-api',
      'rpc.service': 'StepFunctions',
      'rpc.method': 'SendTaskFailure',
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
