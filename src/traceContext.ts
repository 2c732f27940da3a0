/**
 * Trace context carried in SQS messages: the producer's context read as span links, and a context
 * written as message attributes. Light on purpose (no SDK): the CLI and producers use it too.
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
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AWSXRAY_TRACE_ID_HEADER, AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';

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

/**
 * The trace context of `ctx` as SQS message attributes: W3C by default (the relay's DLQ messages,
 * so a redrive continues the trace), or the given propagator (producers pass the global one).
 */
export function traceContextAttributes(
  ctx: Context,
  propagator: Pick<TextMapPropagator, 'inject'> = w3c,
): Record<string, MessageAttributeValue> {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, { set: (c, k, v) => Object.assign(c, { [k]: v }) });
  const out: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(carrier)) out[k] = { DataType: 'String', StringValue: v };
  return out;
}
