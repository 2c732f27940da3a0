/**
 * CloudEvents 1.0 in structured JSON mode (Dapr pub/sub, Knative, Argo Events, EventBridge Pipes
 * with a CloudEvents input template). The failure event is `data`: an object, a string of JSON, or
 * `data_base64` holding JSON; `datacontenttype`, when present, must be a JSON media type.
 */
import { type Json, parseJson, stringField, typeName } from './json.js';
import type { EnvelopeReason, Layer } from './layer.js';

export interface CloudEventOrigin {
  source: string | undefined;
  type: string | undefined;
  id: string | undefined;
  /** The Distributed Tracing extension (W3C), when the event carries it. */
  traceparent?: string;
  tracestate?: string;
}

/** A `specversion` key. */
export function isCloudEvent(o: Record<string, Json>): boolean {
  return 'specversion' in o;
}

/** application/json, text/json, application/<anything>+json, with or without parameters. */
const JSON_MEDIA_TYPE = /^\s*(?:application\/(?:[\w.-]+\+)?json|text\/json)\s*(?:;.*)?$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A value for a detail line: its type and length, never the sender-written text itself. */
function shown(v: Json | undefined): string {
  if (typeof v !== 'string') return typeName(v);
  return v === '' ? 'an empty string' : `a ${v.length}-character string`;
}

function originOf(o: Record<string, Json>): CloudEventOrigin {
  const origin: CloudEventOrigin = {
    source: stringField(o, 'source'),
    type: stringField(o, 'type'),
    id: stringField(o, 'id'),
  };
  const traceparent = stringField(o, 'traceparent');
  const tracestate = stringField(o, 'tracestate');
  if (traceparent !== undefined) origin.traceparent = traceparent;
  if (tracestate !== undefined && tracestate !== '') origin.tracestate = tracestate;
  return origin;
}

function invalid(o: Record<string, Json>): string | undefined {
  if (o.specversion !== '1.0') return `CloudEvent "specversion" must be "1.0", got ${shown(o.specversion)}`;
  for (const key of ['id', 'source', 'type']) {
    const v = o[key];
    if (typeof v !== 'string' || v === '') return `CloudEvent "${key}" must be a non-empty string, got ${shown(v)}`;
  }
  if ('data' in o && 'data_base64' in o) return 'CloudEvent has both "data" and "data_base64"';
  const contentType = o.datacontenttype;
  if (contentType !== undefined && typeof contentType !== 'string') {
    return `CloudEvent "datacontenttype" must be a string, got ${typeName(contentType)}`;
  }
  return undefined;
}

function fail(reason: EnvelopeReason, detail: string, origin: CloudEventOrigin): Layer<CloudEventOrigin> {
  return { ok: false, reason, detail, origin };
}

/** JSON text from `data` (a string) or `data_base64`, parsed with the usual guards. */
function fromText(text: string, field: string, origin: CloudEventOrigin): Layer<CloudEventOrigin> {
  const parsed = parseJson(text);
  if (parsed.ok) return { ok: true, inner: parsed.value, origin };
  if (parsed.forbidden) return fail('forbidden_key', `CloudEvent "${field}" has ${parsed.detail}`, origin);
  return fail('cloudevent_data_not_json', `CloudEvent "${field}" has ${parsed.detail}`, origin);
}

export function unwrapCloudEvent(o: Record<string, Json>): Layer<CloudEventOrigin> {
  const origin = originOf(o);
  const problem = invalid(o);
  if (problem !== undefined) return fail('cloudevent_invalid', problem, origin);
  const contentType = stringField(o, 'datacontenttype');
  // Absent means JSON (the CloudEvents JSON format; Dapr sends it so).
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType)) {
    return fail('cloudevent_data_not_json', `CloudEvent "datacontenttype" (${shown(contentType)}) is not JSON`, origin);
  }
  const base64 = o.data_base64;
  if (base64 !== undefined) {
    if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      return fail('cloudevent_data_not_json', 'CloudEvent "data_base64" is not base64', origin);
    }
    let text: string;
    try {
      text = utf8.decode(Buffer.from(base64, 'base64'));
    } catch {
      return fail('cloudevent_data_not_json', 'CloudEvent "data_base64" is not UTF-8 text', origin);
    }
    return fromText(text, 'data_base64', origin);
  }
  const data = o.data;
  if (data === undefined || data === null) return fail('cloudevent_data_missing', 'CloudEvent has no "data"', origin);
  if (typeof data === 'string') return fromText(data, 'data', origin);
  return { ok: true, inner: data, origin };
}

/** The `type` `sfn-relay send-task-failure --cloudevent-source` gives a CloudEvent by default. */
export const DEFAULT_CLOUDEVENT_TYPE = 'sfn-failure-relay.task-failure';

export interface CloudEventWrap {
  /** The producer, a URI reference (`//orders/payment-worker`, `urn:…`, a URL). */
  source: string;
  type?: string;
  id: string;
  time: Date;
  /** W3C trace context to carry in the Distributed Tracing extension. */
  trace?: Record<string, string>;
}

/** A failure event as a structured-mode CloudEvent 1.0, the shape `unwrapCloudEvent` takes. */
export function toCloudEvent(data: Record<string, unknown>, wrap: CloudEventWrap): Record<string, unknown> {
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: wrap.id,
    source: wrap.source,
    type: wrap.type ?? DEFAULT_CLOUDEVENT_TYPE,
    time: wrap.time.toISOString(),
    datacontenttype: 'application/json',
    data,
  };
  if (wrap.trace?.traceparent !== undefined) event.traceparent = wrap.trace.traceparent;
  if (wrap.trace?.tracestate !== undefined) event.tracestate = wrap.trace.tracestate;
  return event;
}
