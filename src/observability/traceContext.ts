/**
 * Trace context carried in SQS messages: the producer's context read as span links, and a context
 * written as message attributes. Light on purpose (no SDK): the CLI and producers use it too. The
 * propagators (W3C, X-Ray) are loaded when tracing starts (`loadPropagators`): with tracing off
 * there are no spans to link or to write, and the relay does not load them.
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import {
  type Context,
  type Link,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';

interface Propagators {
  w3c: TextMapPropagator;
  xray: TextMapPropagator;
  xrayHeader: string;
}

let loaded: Propagators | undefined;

/** Loads the W3C and X-Ray propagators; until then links and written context are empty. */
export async function loadPropagators(): Promise<void> {
  if (loaded !== undefined) return;
  const [{ W3CTraceContextPropagator }, { AWSXRAY_TRACE_ID_HEADER, AWSXRayPropagator }] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/propagator-aws-xray'),
  ]);
  loaded = { w3c: new W3CTraceContextPropagator(), xray: new AWSXRayPropagator(), xrayHeader: AWSXRAY_TRACE_ID_HEADER };
}

const attributeGetter: TextMapGetter<Record<string, MessageAttributeValue>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key]?.StringValue,
};

const plainGetter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The W3C trace context a CloudEvent carries (its Distributed Tracing extension). */
export interface EventTraceContext {
  traceparent?: string;
  tracestate?: string;
}

/**
 * The producer's context, as span links (the convention for batch receive), closest to the
 * producer first: the CloudEvent's `traceparent` (set by the producing application, e.g. Dapr),
 * then the W3C `traceparent` / `tracestate` message attributes, then the X-Ray `AWSTraceHeader`
 * system attribute (set by whatever sent to SQS). A context found twice is linked once.
 */
export function producerLinks(message: Message, event?: EventTraceContext): Link[] {
  const links: Link[] = [];
  if (loaded === undefined) return links;
  const { w3c, xray, xrayHeader } = loaded;
  const add = (ctx: Context, source: string) => {
    const found = trace.getSpanContext(ctx);
    if (found === undefined) return;
    if (links.some((l) => l.context.traceId === found.traceId && l.context.spanId === found.spanId)) return;
    links.push({ context: found, attributes: { 'sfn_relay.link.source': source } });
  };
  if (event?.traceparent !== undefined) {
    const carrier: Record<string, string> = { traceparent: event.traceparent };
    if (event.tracestate !== undefined) carrier.tracestate = event.tracestate;
    add(w3c.extract(ROOT_CONTEXT, carrier, plainGetter), 'cloudevent.traceparent');
  }
  add(w3c.extract(ROOT_CONTEXT, message.MessageAttributes ?? {}, attributeGetter), 'traceparent');
  const header = message.Attributes?.AWSTraceHeader;
  if (header !== undefined) add(xray.extract(ROOT_CONTEXT, { [xrayHeader]: header }, plainGetter), 'AWSTraceHeader');
  return links;
}

/**
 * The trace context of `ctx` as SQS message attributes: W3C by default (the relay's DLQ messages,
 * so a redrive continues the trace), or the given propagator (producers pass the global one).
 */
export function traceContextAttributes(
  ctx: Context,
  propagator: Pick<TextMapPropagator, 'inject'> | undefined = loaded?.w3c,
): Record<string, MessageAttributeValue> {
  if (propagator === undefined) return {};
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, { set: (c, k, v) => Object.assign(c, { [k]: v }) });
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(carrier)) out[k] = { DataType: 'String', StringValue: v };
  return out;
}
