/**
 * Takes envelopes off a parsed body, outermost first, until what is left is not an envelope: the
 * failure event. At most MAX_ENVELOPES layers (SNS → CloudEvent is two; SNS → EventBridge →
 * CloudEvent three); a deeper body is refused rather than walked.
 */
import { type CloudEventOrigin, isCloudEvent, unwrapCloudEvent } from './cloudevent.js';
import { type EventBridgeOrigin, isEventBridgeEvent, unwrapEventBridge } from './eventbridge.js';
import { isObject, type Json } from './json.js';
import type { EnvelopeReason, Layer } from './layer.js';
import { isSnsNotification, type SnsOrigin, unwrapSns } from './sns.js';

export const MAX_ENVELOPES = 3;

export type EnvelopeKind = 'sns' | 'eventbridge' | 'cloudevent';

/**
 * Where a message came from, as its envelopes say. SNS and EventBridge: only when outermost (what
 * delivered it to the queue; an SNS or EventBridge envelope further in was written by whoever
 * sent the outer one, so it says nothing about delivery and admits nothing); CloudEvent: the
 * innermost (closest to the producer).
 */
export interface Origin {
  /** The envelopes taken off, outermost first, joined by `>`; `plain` when none. */
  envelope: string;
  sns?: SnsOrigin;
  eventBridge?: EventBridgeOrigin;
  cloudEvent?: CloudEventOrigin;
}

export type Unwrapped =
  | {
      ok: true;
      event: Json;
      origin: Origin;
      /** The outermost SNS notification as received (for signature verification). */
      snsNotification?: Record<string, Json>;
    }
  | { ok: false; reason: EnvelopeReason; detail: string; origin: Origin; snsNotification?: Record<string, Json> };

function kindOf(o: Record<string, Json>): EnvelopeKind | undefined {
  if (isSnsNotification(o)) return 'sns';
  if (isEventBridgeEvent(o)) return 'eventbridge';
  if (isCloudEvent(o)) return 'cloudevent';
  return undefined;
}

function takeOff(kind: EnvelopeKind, o: Record<string, Json>): Layer<SnsOrigin | EventBridgeOrigin | CloudEventOrigin> {
  if (kind === 'sns') return unwrapSns(o);
  if (kind === 'eventbridge') return unwrapEventBridge(o);
  return unwrapCloudEvent(o);
}

function record(
  origin: Origin,
  kind: EnvelopeKind,
  found: SnsOrigin | EventBridgeOrigin | CloudEventOrigin,
  outermost: boolean,
): void {
  if (kind === 'cloudevent') origin.cloudEvent = found as CloudEventOrigin;
  else if (!outermost) return;
  else if (kind === 'sns') origin.sns = found as SnsOrigin;
  else origin.eventBridge = found as EventBridgeOrigin;
}

export function unwrap(root: Json): Unwrapped {
  const path: EnvelopeKind[] = [];
  const origin: Origin = { envelope: 'plain' };
  let snsNotification: Record<string, Json> | undefined;
  let value = root;
  for (let kind = isObject(value) ? kindOf(value) : undefined; kind !== undefined; ) {
    const o = value as Record<string, Json>;
    if (path.length === MAX_ENVELOPES) {
      return {
        ok: false,
        reason: 'envelope_too_deep',
        detail: `more than ${MAX_ENVELOPES} envelopes (${[...path, kind].join('>')})`,
        origin,
      };
    }
    path.push(kind);
    origin.envelope = path.join('>');
    const outermost = path.length === 1;
    // Only the outermost notification can be SNS's own delivery, so only it is verified.
    if (kind === 'sns' && outermost) snsNotification = o;
    const layer = takeOff(kind, o);
    if (layer.origin !== undefined) record(origin, kind, layer.origin, outermost);
    if (!layer.ok) {
      const failed = { ok: false as const, reason: layer.reason, detail: layer.detail, origin };
      return snsNotification === undefined ? failed : { ...failed, snsNotification };
    }
    value = layer.inner;
    kind = isObject(value) ? kindOf(value) : undefined;
  }
  return snsNotification === undefined
    ? { ok: true, event: value, origin }
    : { ok: true, event: value, origin, snsNotification };
}
