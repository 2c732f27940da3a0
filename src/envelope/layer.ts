/** One envelope layer taken off: the value inside and what the layer said about its origin. */
import type { Json } from './json.js';

/** Poison reasons an envelope can give; the full list is POISON_REASONS in src/core/event.ts. */
export type EnvelopeReason =
  | 'forbidden_key'
  | 'sns_message_not_json'
  | 'eventbridge_detail_missing'
  | 'cloudevent_invalid'
  | 'cloudevent_data_missing'
  | 'cloudevent_data_not_json'
  | 'envelope_too_deep';

export type Layer<O> =
  | { ok: true; inner: Json; origin: O }
  | { ok: false; reason: EnvelopeReason; detail: string; origin: O | undefined };
