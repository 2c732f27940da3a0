/**
 * A message's origin as the relay reports it: in the DLQ attribute, on the process span and in
 * the log. Producer-controlled strings are cut to ORIGIN_TEXT_MAX characters; trace context is not
 * repeated here (it is a span link).
 */
import type { Attributes } from '@opentelemetry/api';
import type { Origin } from './unwrap.js';

export const ORIGIN_TEXT_MAX = 256;

export interface OriginSummary {
  /** Envelopes taken off, outermost first (`sns>cloudevent`), or `plain`. */
  envelope: string;
  snsTopicArn?: string;
  eventBridgeSource?: string;
  eventBridgeAccount?: string;
  eventBridgeDetailType?: string;
  cloudEventSource?: string;
  cloudEventType?: string;
  cloudEventId?: string;
}

function cut(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.length <= ORIGIN_TEXT_MAX ? v : `${v.slice(0, ORIGIN_TEXT_MAX - 1)}…`;
}

export function summarizeOrigin(o: Origin): OriginSummary {
  const fields: [keyof OriginSummary, string | undefined][] = [
    ['snsTopicArn', o.sns?.topicArn],
    ['eventBridgeSource', o.eventBridge?.source],
    ['eventBridgeAccount', o.eventBridge?.account],
    ['eventBridgeDetailType', o.eventBridge?.detailType],
    ['cloudEventSource', o.cloudEvent?.source],
    ['cloudEventType', o.cloudEvent?.type],
    ['cloudEventId', o.cloudEvent?.id],
  ];
  const out: OriginSummary = { envelope: o.envelope };
  for (const [key, value] of fields) {
    const v = cut(value);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Span attributes: the CloudEvents semantic conventions, and the relay's own for SNS and EventBridge. */
export function originAttributes(o: Origin): Attributes {
  const s = summarizeOrigin(o);
  const pairs: [string, string | undefined][] = [
    ['sfn_relay.envelope', s.envelope],
    ['sfn_relay.sns.topic_arn', s.snsTopicArn],
    ['sfn_relay.eventbridge.source', s.eventBridgeSource],
    ['sfn_relay.eventbridge.account', s.eventBridgeAccount],
    ['sfn_relay.eventbridge.detail_type', s.eventBridgeDetailType],
    ['cloudevents.event_source', s.cloudEventSource],
    ['cloudevents.event_type', s.cloudEventType],
    ['cloudevents.event_id', s.cloudEventId],
  ];
  const out: Attributes = {};
  for (const [k, v] of pairs) if (v !== undefined) out[k] = v;
  return out;
}
