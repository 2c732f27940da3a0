/** EventBridge events as a rule with an SQS target delivers them (the whole event, JSON). */
import { isObject, type Json, stringField, typeName } from './json.js';
import type { Layer } from './layer.js';

export interface EventBridgeOrigin {
  source: string | undefined;
  account: string | undefined;
  detailType: string | undefined;
}

/** A `detail-type` key. */
export function isEventBridgeEvent(o: Record<string, Json>): boolean {
  return 'detail-type' in o;
}

/** The event is `detail`, an object. */
export function unwrapEventBridge(o: Record<string, Json>): Layer<EventBridgeOrigin> {
  const origin = {
    source: stringField(o, 'source'),
    account: stringField(o, 'account'),
    detailType: stringField(o, 'detail-type'),
  };
  if (!isObject(o.detail)) {
    return {
      ok: false,
      reason: 'eventbridge_detail_missing',
      detail: `EventBridge event has no "detail" object (got ${typeName(o.detail)})`,
      origin,
    };
  }
  return { ok: true, inner: o.detail, origin };
}
