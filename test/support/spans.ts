/**
 * Spans of the test's own process, kept in memory: the global tracer provider, context manager and
 * W3C propagator set as the relay's tracing start sets them (src/observability/tracing.ts), and the propagators
 * the relay links with loaded. For in-process relays (startInProcess).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { loadPropagators } from '../../src/observability/traceContext.js';

export async function captureSpans(): Promise<InMemorySpanExporter> {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  await loadPropagators();
  return exporter;
}
