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

/**
 * The producer's context, as span links (the convention for batch receive): W3C `traceparent` /
 * `tracestate` message attributes, and the X-Ray `AWSTraceHeader` system attribute.
 */
export function producerLinks(message: Message): Link[] {
  const links: Link[] = [];
  if (loaded === undefined) return links;
  const { w3c, xray, xrayHeader } = loaded;
  const fromW3c = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, message.MessageAttributes ?? {}, attributeGetter));
  if (fromW3c !== undefined) links.push({ context: fromW3c, attributes: { 'sfn_relay.link.source': 'traceparent' } });
  const header = message.Attributes?.AWSTraceHeader;
  if (header !== undefined) {
    const fromXray = trace.getSpanContext(xray.extract(ROOT_CONTEXT, { [xrayHeader]: header }, plainGetter));
    if (fromXray !== undefined)
      links.push({ context: fromXray, attributes: { 'sfn_relay.link.source': 'AWSTraceHeader' } });
  }
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
