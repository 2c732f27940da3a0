/**
 * OpenTelemetry: the SDK (configured by the standard OTEL_* variables), the producer links of a
 * message, the span per SendTaskFailure attempt, and trace context for DLQ messages.
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import {
  type Context,
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AWSXRAY_TRACE_ID_HEADER, AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { NodeSDK } from '@opentelemetry/sdk-node';

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
  if (env.OTEL_SDK_DISABLED === 'true') return { shutdown: async () => undefined };
  // No auto-instrumentation: the spans that matter (one per message, one per SendTaskFailure
  // attempt, one per DLQ send) are the relay's own, and patching every SQS call would cost CPU.
  const sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

const w3c = new W3CTraceContextPropagator();
const xray = new AWSXRayPropagator();

const attributeGetter: TextMapGetter<Record<string, MessageAttributeValue>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key]?.StringValue,
};

const plainGetter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * The producer's context, as span links (the convention for batch receive): W3C `traceparent` /
 * `tracestate` message attributes, and the X-Ray `AWSTraceHeader` system attribute.
 */
export function producerLinks(message: Message): Link[] {
  const links: Link[] = [];
  const fromW3c = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, message.MessageAttributes ?? {}, attributeGetter));
  if (fromW3c !== undefined) links.push({ context: fromW3c, attributes: { 'sfn_relay.link.source': 'traceparent' } });
  const header = message.Attributes?.AWSTraceHeader;
  if (header !== undefined) {
    const fromXray = trace.getSpanContext(
      xray.extract(ROOT_CONTEXT, { [AWSXRAY_TRACE_ID_HEADER]: header }, plainGetter),
    );
    if (fromXray !== undefined)
      links.push({ context: fromXray, attributes: { 'sfn_relay.link.source': 'AWSTraceHeader' } });
  }
  return links;
}

/** W3C trace context of `ctx` as SQS message attributes (for the DLQ message, so a redrive continues the trace). */
export function traceContextAttributes(ctx: Context): Record<string, MessageAttributeValue> {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, { set: (c, k, v) => Object.assign(c, { [k]: v }) });
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(carrier)) out[k] = { DataType: 'String', StringValue: v };
  return out;
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
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    // The error's name only: its message may quote the token.
    endWithError(span, e.name === 'Error' && e.code !== undefined ? e.code : (e.name ?? 'Error'));
    throw err;
  }
}
