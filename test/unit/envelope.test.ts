import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/core/event.js';
import { summarizeOrigin } from '../../src/envelope/origin.js';
import { MAX_ENVELOPES } from '../../src/envelope/unwrap.js';
import { dapr, knative, PRODUCERS, snsEnvelope } from '../fixtures/cloudevents.js';

const token = 'AAAAKgAAAAIAAAAAAAAAAQ+token/with=base64chars';
const event = { taskToken: token, error: 'PaymentDeclined', cause: 'card declined' };
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const reasonOf = (body: unknown) => {
  const r = parseEvent(typeof body === 'string' ? body : JSON.stringify(body));
  return r.ok ? 'valid' : r.reason;
};

describe('CloudEvents', () => {
  it.each(Object.entries(PRODUCERS))('%s: the event is taken from data, raw and inside SNS', (_name, producer) => {
    const ce = JSON.stringify(producer(event));
    const raw = parseEvent(ce);
    expect(raw.ok && raw.event).toEqual({ kind: 'failure', ...event });
    expect(raw.ok && raw.origin.envelope).toBe('cloudevent');
    const viaSns = parseEvent(snsEnvelope(ce));
    expect(viaSns.ok && viaSns.event).toEqual({ kind: 'failure', ...event });
    expect(viaSns.ok && viaSns.origin.envelope).toBe('sns>cloudevent');
  });

  it('records source, type and id, and the trace context of the Distributed Tracing extension', () => {
    const ce = dapr(event, TP);
    const r = parseEvent(snsEnvelope(JSON.stringify(ce), 'arn:aws:sns:eu-west-1:111122223333:failures'));
    if (!r.ok) throw new Error(r.reason);
    expect(r.origin.cloudEvent).toEqual({
      source: 'payment-worker',
      type: 'com.dapr.event.sent',
      id: ce.id,
      traceparent: TP,
    });
    expect(summarizeOrigin(r.origin)).toEqual({
      envelope: 'sns>cloudevent',
      snsTopicArn: 'arn:aws:sns:eu-west-1:111122223333:failures',
      cloudEventSource: 'payment-worker',
      cloudEventType: 'com.dapr.event.sent',
      cloudEventId: ce.id,
    });
    // The summary never carries the token, and producer strings are cut.
    expect(JSON.stringify(summarizeOrigin(r.origin))).not.toContain(token);
    const long = parseEvent(JSON.stringify({ ...knative(event), source: `/${'s'.repeat(5000)}` }));
    expect(long.ok && summarizeOrigin(long.origin).cloudEventSource?.length).toBe(256);
  });

  it('accepts JSON media types and refuses the others', () => {
    for (const ct of ['application/json', 'application/json; charset=utf-8', 'text/json', 'application/vnd.api+json']) {
      expect(reasonOf({ ...knative(event), datacontenttype: ct }), ct).toBe('valid');
    }
    for (const ct of ['text/plain', 'application/xml', 'application/octet-stream', 'json']) {
      expect(reasonOf({ ...knative(event), datacontenttype: ct }), ct).toBe('cloudevent_data_not_json');
    }
  });

  it('gives each malformed CloudEvent its own reason', () => {
    const ce = knative(event);
    const { data: _, ...noData } = ce;
    const cases: [unknown, string][] = [
      [{ ...ce, specversion: '0.3' }, 'cloudevent_invalid'],
      [{ ...ce, specversion: 1 }, 'cloudevent_invalid'],
      [{ ...ce, id: '' }, 'cloudevent_invalid'],
      [{ ...ce, source: 42 }, 'cloudevent_invalid'],
      [{ ...noData, type: undefined }, 'cloudevent_invalid'],
      [{ ...ce, data_base64: 'e30=' }, 'cloudevent_invalid'],
      [{ ...ce, datacontenttype: 7 }, 'cloudevent_invalid'],
      [noData, 'cloudevent_data_missing'],
      [{ ...ce, data: null }, 'cloudevent_data_missing'],
      [{ ...ce, data: 'the task failed' }, 'cloudevent_data_not_json'],
      [{ ...noData, data_base64: 'not base64!' }, 'cloudevent_data_not_json'],
      [{ ...noData, data_base64: Buffer.from([0xff, 0xfe, 0x7b]).toString('base64') }, 'cloudevent_data_not_json'],
      [{ ...noData, data_base64: Buffer.from('{"taskToken":').toString('base64') }, 'cloudevent_data_not_json'],
      [{ ...ce, data: '{"__proto__":{"taskToken":"x"}}' }, 'forbidden_key'],
      [{ ...noData, data_base64: Buffer.from('{"constructor":{}}').toString('base64') }, 'forbidden_key'],
      [{ ...ce, data: { error: 'E' } }, 'token_missing'],
      [{ ...ce, data: [event] }, 'body_not_object'],
    ];
    for (const [body, reason] of cases) expect(reasonOf(body), JSON.stringify(body).slice(0, 120)).toBe(reason);
  });

  it('takes off at most three envelopes, in any order, and refuses a fourth', () => {
    const eb = (detail: unknown) => ({
      version: '0',
      'detail-type': 'Task Failed',
      source: 'worker',
      account: '1',
      detail,
    });
    const three = snsEnvelope(JSON.stringify(eb(knative(event))));
    const r = parseEvent(three);
    expect(r.ok && r.origin.envelope).toBe('sns>eventbridge>cloudevent');
    const four = snsEnvelope(JSON.stringify(eb(knative(knative(event)))));
    const refused = parseEvent(four);
    expect(refused.ok ? 'valid' : [refused.reason, refused.detail]).toEqual([
      'envelope_too_deep',
      `more than ${MAX_ENVELOPES} envelopes (sns>eventbridge>cloudevent>cloudevent)`,
    ]);
    // Self-nesting is bounded the same way.
    let body = JSON.stringify(event);
    for (let i = 0; i < 8; i += 1) body = snsEnvelope(body);
    expect(reasonOf(body)).toBe('envelope_too_deep');
  });

  it('keeps the CloudEvent closest to the producer, and the SNS topic that delivered', () => {
    const inner = { ...knative(event), source: '/inner' };
    const outer = { ...knative({}), source: '/outer', data: inner };
    const r = parseEvent(snsEnvelope(JSON.stringify(outer), 'arn:aws:sns:us-east-1:1:outer'));
    expect(r.ok && r.origin.cloudEvent?.source).toBe('/inner');
    expect(r.ok && r.origin.sns?.topicArn).toBe('arn:aws:sns:us-east-1:1:outer');
  });

  it('reports where a poison message came from', () => {
    const r = parseEvent(snsEnvelope(JSON.stringify({ ...knative(event), datacontenttype: 'text/plain' })));
    expect(r.ok ? undefined : r.origin?.envelope).toBe('sns>cloudevent');
    expect(r.ok ? undefined : r.origin?.cloudEvent?.type).toBe('dev.knative.sources.ping');
  });
});
