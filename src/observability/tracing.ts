/**
 * The OpenTelemetry SDK for the relay's traces, configured by the standard OTEL_* variables and
 * loaded only when traces are exported: with OTEL_TRACES_EXPORTER=none (the chart's default until an
 * endpoint is given) or OTEL_SDK_DISABLED=true nothing of the SDK is loaded, and every span is the
 * API's no-op.
 *
 * Why not `@opentelemetry/sdk-node`: it loads the metrics and logs SDKs and every exporter (gRPC
 * included) whatever is configured — measured here, ~200 ms and ~40 MiB of a relay that should be
 * ready in 300 ms and idle in 80 MiB. The relay exports traces only (metrics are on /metrics), so
 * it assembles the SDK's own parts for that: a TracerProvider with the sampler, resource and batch
 * processor the environment asks for, and the one OTLP exporter the protocol names. Variables read:
 * OTEL_TRACES_EXPORTER (otlp, console, none), OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL (http/protobuf,
 * http/json, grpc), the exporters' own OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout),
 * OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*.
 *
 * A failed export is never silent: `exportFailures` emits it (the service counts it in
 * `sfn_relay_telemetry_export_failures_total` and logs one warning a minute with the endpoint and
 * reason).
 */
import { EventEmitter } from 'node:events';
import { context, propagation, trace } from '@opentelemetry/api';
import type { ReadableSpan, Sampler, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { loadPropagators } from './traceContext.js';

export interface Telemetry {
  /** Flushes and stops exporting, bounded by OTEL_BSP_EXPORT_TIMEOUT; call on shutdown. */
  shutdown(): Promise<void>;
}

/** `exportFailure` (endpoint: string, reason: string) for every batch an exporter could not deliver. */
export const exportFailures = new EventEmitter();

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/** Whether the environment asks for traces to be exported at all. */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporters = list(env.OTEL_TRACES_EXPORTER);
  return !exporters.includes('none');
}

function endpointOf(env: NodeJS.ProcessEnv): string {
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318';
}

/** Passes every batch on, and reports the ones the inner exporter could not deliver. */
function reporting(inner: SpanExporter, endpoint: string): SpanExporter {
  return {
    export(spans: ReadableSpan[], done) {
      inner.export(spans, (result) => {
        if (result.code !== 0) exportFailures.emit('exportFailure', endpoint, result.error?.message ?? 'export failed');
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

async function otlpExporter(env: NodeJS.ProcessEnv): Promise<SpanExporter> {
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  if (protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

async function sampler(env: NodeJS.ProcessEnv): Promise<Sampler> {
  const s = await import('@opentelemetry/sdk-trace');
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const r = Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1;
  switch ((env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim()) {
    case 'always_on':
      return new s.AlwaysOnSampler();
    case 'always_off':
      return new s.AlwaysOffSampler();
    case 'traceidratio':
      return new s.TraceIdRatioBasedSampler(r);
    case 'parentbased_always_off':
      return new s.ParentBasedSampler({ root: new s.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new s.ParentBasedSampler({ root: new s.TraceIdRatioBasedSampler(r) });
    default:
      return new s.ParentBasedSampler({ root: new s.AlwaysOnSampler() });
  }
}

export async function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<Telemetry> {
  env.OTEL_SERVICE_NAME ??= 'sfn-failure-relay';
  // Smaller, more frequent export batches: serialising the default 512 spans at once stalls the
  // event loop for tens of milliseconds, which showed as the relay's p99 latency. Same total work.
  env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ??= '128';
  env.OTEL_BSP_SCHEDULE_DELAY ??= '500';
  // A collector that hangs must not hold an export (or the shutdown flush) for the SDK's 30 s.
  env.OTEL_BSP_EXPORT_TIMEOUT ??= '5000';
  env.OTEL_EXPORTER_OTLP_TIMEOUT ??= env.OTEL_BSP_EXPORT_TIMEOUT;
  if (!tracingEnabled(env)) return { shutdown: async () => undefined };

  const [sdk, { AsyncLocalStorageContextManager }, resources, { W3CTraceContextPropagator }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const processors: SpanProcessor[] = [];
  const names = list(env.OTEL_TRACES_EXPORTER);
  for (const name of names.length === 0 ? ['otlp'] : names) {
    if (name === 'console') processors.push(new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }));
    if (name === 'otlp') {
      const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
      processors.push(
        new sdk.BatchSpanProcessor({
          exporter: reporting(await otlpExporter(env), endpointOf(env)),
          ...(num(env.OTEL_BSP_MAX_QUEUE_SIZE) === undefined ? {} : { maxQueueSize: num(env.OTEL_BSP_MAX_QUEUE_SIZE) }),
          maxExportBatchSize: num(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE) ?? 128,
          scheduledDelayMillis: num(env.OTEL_BSP_SCHEDULE_DELAY) ?? 500,
          exportTimeoutMillis: num(env.OTEL_BSP_EXPORT_TIMEOUT) ?? 5000,
        }),
      );
    }
  }
  const detected = resources.detectResources({
    detectors: [resources.resourceAttributesEnvDetector, resources.serviceNameEnvDetector],
  });
  const provider = new sdk.TracerProvider({
    resource: resources.defaultResource().merge(detected),
    sampler: await sampler(env),
    spanProcessors: processors,
  });
  await loadPropagators();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const flushMs = Number(env.OTEL_BSP_EXPORT_TIMEOUT);
  return {
    // Bounded: spans not flushed by then are lost, the process is not held.
    shutdown: () =>
      Promise.race([
        provider.shutdown(),
        new Promise<void>((resolve) => setTimeout(resolve, Number.isFinite(flushMs) ? flushMs : 5000).unref()),
      ]),
  };
}
