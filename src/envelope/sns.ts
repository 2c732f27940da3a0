/** SNS notifications as SNS delivers them to SQS without raw message delivery. */
import { type Json, parseJson, stringField, typeName } from './json.js';
import type { Layer } from './layer.js';

export interface SnsOrigin {
  topicArn: string | undefined;
  messageId: string | undefined;
}

/** `"Type": "Notification"` and a `Message` key. */
export function isSnsNotification(o: Record<string, Json>): boolean {
  return o.Type === 'Notification' && 'Message' in o;
}

/** The event is `Message`, a string of JSON. */
export function unwrapSns(o: Record<string, Json>): Layer<SnsOrigin> {
  const origin = { topicArn: stringField(o, 'TopicArn'), messageId: stringField(o, 'MessageId') };
  const message = o.Message;
  if (typeof message !== 'string') {
    return {
      ok: false,
      reason: 'sns_message_not_json',
      detail: `SNS "Message" must be a string of JSON, got ${typeName(message)}`,
      origin,
    };
  }
  const inner = parseJson(message);
  if (!inner.ok) {
    const reason = inner.forbidden ? 'forbidden_key' : 'sns_message_not_json';
    return { ok: false, reason, detail: `SNS "Message" has ${inner.detail}`, origin };
  }
  return { ok: true, inner: inner.value, origin };
}
