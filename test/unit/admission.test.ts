import type { Message } from '@aws-sdk/client-sqs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/admission/admission.js';
import { Allowlist, pattern, senderPattern } from '../../src/admission/allowlist.js';
import { admissionFromEnv } from '../../src/admission/settings.js';
import { fetchedCerts, pinnedCerts, verifySnsSignature } from '../../src/admission/snsSignature.js';
import { ConfigError } from '../../src/core/errors.js';
import { parseEvent } from '../../src/core/event.js';
import { countsAgainstMessage, decide } from '../../src/core/outcome.js';
import { loadConfig } from '../../src/service/config.js';
import { FATE } from '../support/fate.js';
import { CERT_URL, makeSigningCert, signedNotification } from '../support/snsSigning.js';

const ROLE = 'AROA3XFRBF535PLBIFPI4';
const USER = 'AIDAJQABLZS4A3QDU576Q';
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:task-failures';
const event = JSON.stringify({ taskToken: 'AAAAKgAAAAIAAAAAAAAAAQ+tok', error: 'E' });
const cert = makeSigningCert();

function allowlist(env: Parameters<typeof admissionFromEnv>[0]): Allowlist {
  const { settings, problems } = admissionFromEnv(env);
  if (settings === undefined) throw new Error(`no settings: ${JSON.stringify(problems)}`);
  return new Allowlist(settings.allowlist);
}

describe('SenderId matching', () => {
  it('matches users, roles with any session, account ids and patterns as SQS reports them', () => {
    const role = senderPattern(ROLE);
    expect(role.test(`${ROLE}:i-0abc123`)).toBe(true);
    expect(role.test(`${ROLE}:botocore-session-1700000000`)).toBe(true);
    expect(role.test(ROLE)).toBe(true);
    // Another role whose id starts the same is not the role.
    expect(role.test(`${ROLE}X:session`)).toBe(false);
    expect(role.test(USER)).toBe(false);
    const session = senderPattern(`${ROLE}:payments-*`);
    expect(session.test(`${ROLE}:payments-worker-7`)).toBe(true);
    expect(session.test(`${ROLE}:billing`)).toBe(false);
    expect(senderPattern(USER).test(USER)).toBe(true);
    expect(senderPattern(USER).test(`${USER}1`)).toBe(false);
    expect(senderPattern('000000000000').test('000000000000')).toBe(true);
    // Regex characters are literal.
    expect(pattern('a.b').test('axb')).toBe(false);
    expect(pattern('arn:aws:sns:*:111122223333:task-*').test(TOPIC)).toBe(true);
  });

  it('refuses bad settings with one line naming the variable', () => {
    const p = (env: Record<string, string>) => admissionFromEnv(env).problems.map(([name, m]) => `${name} ${m}`);
    expect(p({ ALLOWED_SENDERS: `arn:aws:iam::111122223333:role/worker` })[0]).toMatch(
      /^ALLOWED_SENDERS has the ARN "arn:aws:iam::111122223333:role\/worker", but SenderId holds the principal's unique id, not its ARN: use the role id/,
    );
    expect(p({ ALLOWED_SENDERS: `${ROLE},,${USER}` })).toEqual([
      'ALLOWED_SENDERS has an empty entry (two commas, or a trailing comma)',
    ]);
    expect(p({ ALLOWED_SENDERS: '*' })).toEqual([
      'ALLOWED_SENDERS has "*", which allows everyone: unset the variable instead',
    ]);
    expect(p({ ALLOWED_SENDERS: 'role worker' })[0]).toMatch(
      /^ALLOWED_SENDERS has "role worker", which has a character/,
    );
    expect(p({ ALLOWED_SNS_TOPICS: 'task-failures' })[0]).toMatch(
      /^ALLOWED_SNS_TOPICS has "task-failures", which is not an SNS topic ARN/,
    );
    expect(p({ ALLOWED_EVENTBRIDGE_ACCOUNTS: '1111' })).toEqual([
      'ALLOWED_EVENTBRIDGE_ACCOUNTS has "1111", which is not a 12-digit account id',
    ]);
    expect(p({ SNS_VERIFY_SIGNATURES: 'false' })).toEqual(['SNS_VERIFY_SIGNATURES needs ALLOWED_SNS_TOPICS']);
    expect(p({ ALLOWED_SNS_TOPICS: TOPIC, SNS_VERIFY_SIGNATURES: 'false', SNS_SIGNING_CERT_FILE: '/x' })).toEqual([
      'SNS_SIGNING_CERT_FILE has no use with SNS_VERIFY_SIGNATURES=false',
    ]);
    expect(admissionFromEnv({})).toEqual({ settings: undefined, problems: [] });
    // Unsigned rules alone admit nothing: a forger writes the fields they match.
    expect(p({ ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders' })[0]).toMatch(
      /^ALLOWED_EVENTBRIDGE_SOURCES admits nothing on its own: .* set TRUST_QUEUE_POLICY=true if the queue policy lets only EventBridge send, pinned by aws:SourceArn$/,
    );
    expect(p({ ALLOWED_SNS_TOPICS: TOPIC, ALLOWED_EVENTBRIDGE_ACCOUNTS: '111122223333' })[0]).toMatch(
      /^ALLOWED_EVENTBRIDGE_ACCOUNTS admits nothing on its own/,
    );
    expect(p({ ALLOWED_CLOUDEVENT_SOURCES: '//orders/*' })[0]).toMatch(
      /^ALLOWED_CLOUDEVENT_SOURCES admits nothing on its own/,
    );
    expect(p({ ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders', TRUST_QUEUE_POLICY: 'true' })).toEqual([]);
    expect(p({ ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders', ALLOWED_SENDERS: ROLE })).toEqual([]);
    expect(p({ ALLOWED_SENDERS: ROLE, TRUST_QUEUE_POLICY: 'true' })).toEqual([
      'TRUST_QUEUE_POLICY has no use without ALLOWED_EVENTBRIDGE_* or ALLOWED_CLOUDEVENT_SOURCES',
    ]);
    // Through the configuration: one line per variable, the value quoted.
    try {
      loadConfig({
        SOURCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111122223333/q',
        DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/111122223333/d',
        ALLOWED_EVENTBRIDGE_ACCOUNTS: 'me',
      });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'ALLOWED_EVENTBRIDGE_ACCOUNTS="me" has "me", which is not a 12-digit account id',
      ]);
    }
  });
});

describe('the allowlist', () => {
  const origin = (body: string) => parseEvent(body).origin;
  const sns = (topic: string) => JSON.stringify({ Type: 'Notification', TopicArn: topic, Message: event });
  const eb = (source: string, account: string) =>
    JSON.stringify({ 'detail-type': 'Task Failed', source, account, detail: JSON.parse(event) });

  it('admits by any delivery rule, and refuses with what it saw', () => {
    const a = allowlist({
      ALLOWED_SENDERS: ROLE,
      ALLOWED_SNS_TOPICS: TOPIC,
      ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.*',
      ALLOWED_EVENTBRIDGE_ACCOUNTS: '111122223333',
      TRUST_QUEUE_POLICY: 'true',
    });
    expect(a.judge(`${ROLE}:w`, origin(eb('com.example.orders', '111122223333')), true)).toEqual({
      allowed: true,
      via: 'sender',
    });
    expect(a.judge('AIDASNSSERVICE', origin(sns(TOPIC)), true)).toEqual({ allowed: true, via: 'sns_topic' });
    expect(a.judge('AROAEVENTS:x', origin(eb('com.example.orders', '111122223333')), true)).toEqual({
      allowed: true,
      via: 'eventbridge',
    });
    expect(a.judge(USER, origin(event), true)).toEqual({
      allowed: false,
      detail: `SenderId "${USER}" is not in ALLOWED_SENDERS`,
    });
    expect(a.judge(USER, origin(sns('arn:aws:sns:eu-west-1:999999999999:other')), true)).toEqual({
      allowed: false,
      detail: `SenderId "${USER}" is not in ALLOWED_SENDERS; an SNS topic of account 999999999999 is not in ALLOWED_SNS_TOPICS`,
    });
    const wrongAccount = a.judge(USER, origin(eb('com.example.orders', '999999999999')), true);
    expect(wrongAccount.allowed ? '' : wrongAccount.detail).toContain(
      'EventBridge account 999999999999 is not in ALLOWED_EVENTBRIDGE_ACCOUNTS',
    );
  });

  it('says whether SNS signatures are checked: only with a topic rule', () => {
    expect(allowlist({ ALLOWED_SENDERS: ROLE }).snsSignatures).toBe('not_used');
    expect(allowlist({ ALLOWED_SNS_TOPICS: TOPIC }).snsSignatures).toBe('verified');
    expect(allowlist({ ALLOWED_SNS_TOPICS: TOPIC, SNS_VERIFY_SIGNATURES: 'false' }).snsSignatures).toBe('not_verified');
  });

  it('with only a topic list, a message sent straight to the queue is refused', () => {
    const a = allowlist({ ALLOWED_SNS_TOPICS: TOPIC });
    expect(a.judge('000000000000', origin(event), true)).toEqual({
      allowed: false,
      detail: 'no rule admits a message delivered as plain',
    });
  });

  it('filters on the CloudEvent source beside the delivery rules, not instead of them', () => {
    const ce = (source: string) =>
      JSON.stringify({ specversion: '1.0', id: '1', source, type: 't', data: JSON.parse(event) });
    const only = allowlist({ ALLOWED_CLOUDEVENT_SOURCES: '//orders/*', TRUST_QUEUE_POLICY: 'true' });
    expect(only.judge('anyone', origin(ce('//orders/payments')), true).allowed).toBe(true);
    expect(only.judge('anyone', origin(ce('//billing/x')), true)).toEqual({
      allowed: false,
      detail: 'the CloudEvent source is not in ALLOWED_CLOUDEVENT_SOURCES',
    });
    expect(only.judge('anyone', origin(event), true).allowed).toBe(false);
    // A body that never got as far as a CloudEvent keeps its poison reason.
    expect(only.judge('anyone', parseEvent('not json').origin, false).allowed).toBe(true);
    const both = allowlist({ ALLOWED_SENDERS: ROLE, ALLOWED_CLOUDEVENT_SOURCES: '//orders/*' });
    expect(both.judge(USER, origin(ce('//orders/payments')), true).allowed).toBe(false);
  });
});

describe('the deliverer decides', () => {
  const judge = (a: Allowlist, sender: string, body: string) => a.judge(sender, parseEvent(body).origin, true);
  const eb = (source: string, detail: unknown, account = '111122223333') =>
    JSON.stringify({ 'detail-type': 'Task Failed', source, account, detail });
  const sns = (topic: string, message: string) =>
    JSON.stringify({ Type: 'Notification', TopicArn: topic, Message: message });
  const ce = (data: unknown) => JSON.stringify({ specversion: '1.0', id: '1', source: '//orders/x', type: 't', data });
  const allowedEb = eb('com.example.orders', JSON.parse(event));
  const trusted = allowlist({
    ALLOWED_SENDERS: ROLE,
    ALLOWED_SNS_TOPICS: TOPIC,
    ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
    ALLOWED_EVENTBRIDGE_ACCOUNTS: '111122223333',
    TRUST_QUEUE_POLICY: 'true',
  });

  it('an inner envelope never admits: SNS from an unlisted topic, or a CloudEvent, wrapping an allowed EventBridge event', () => {
    expect(judge(trusted, USER, allowedEb)).toEqual({ allowed: true, via: 'eventbridge' });
    const viaSns = judge(trusted, USER, sns('arn:aws:sns:eu-west-1:999999999999:other', allowedEb));
    expect(viaSns).toEqual({
      allowed: false,
      detail: `SenderId "${USER}" is not in ALLOWED_SENDERS; an SNS topic of account 999999999999 is not in ALLOWED_SNS_TOPICS`,
    });
    expect(judge(trusted, USER, ce(JSON.parse(allowedEb))).allowed).toBe(false);
    // Nor does an SNS notification from an allowed topic inside a self-made EventBridge event.
    const inner = eb('com.example.billing', JSON.parse(sns(TOPIC, event)));
    expect(judge(trusted, USER, inner)).toMatchObject({ allowed: false });
    expect(parseEvent(inner)).toMatchObject({ origin: { envelope: 'eventbridge>sns' } });
    expect(parseEvent(inner)).not.toHaveProperty('snsNotification');
  });

  it.each([
    ['without TRUST_QUEUE_POLICY', { TRUST_QUEUE_POLICY: undefined }],
    ['with TRUST_QUEUE_POLICY', { TRUST_QUEUE_POLICY: 'true' as const }],
  ])('%s an EventBridge rule narrows what a sender rule admits', (_name, trust) => {
    const narrowing = allowlist({
      ALLOWED_SENDERS: ROLE,
      ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
      ...trust,
    });
    // A self-made EventBridge event from a sender not on the list: admitted only when the policy is trusted.
    expect(judge(narrowing, USER, allowedEb)).toEqual(
      trust.TRUST_QUEUE_POLICY === 'true'
        ? { allowed: true, via: 'eventbridge' }
        : { allowed: false, detail: `SenderId "${USER}" is not in ALLOWED_SENDERS` },
    );
    expect(judge(narrowing, `${ROLE}:events`, allowedEb)).toEqual({ allowed: true, via: 'sender' });
    expect(judge(narrowing, `${ROLE}:events`, eb('com.example.billing', JSON.parse(event)))).toEqual({
      allowed: false,
      detail: 'the EventBridge source is not in ALLOWED_EVENTBRIDGE_SOURCES',
    });
    expect(judge(narrowing, `${ROLE}:events`, event)).toEqual({
      allowed: false,
      detail: 'no outermost EventBridge envelope, and ALLOWED_EVENTBRIDGE_SOURCES is set',
    });
  });
});

describe('SNS signatures', () => {
  const pinned = pinnedCerts(cert.certFile);

  it('verify SignatureVersion 1 and 2, with and without a Subject, and refuse tampering', async () => {
    for (const version of ['1', '2'] as const) {
      for (const subject of [undefined, 'Task failed']) {
        const n = signedNotification(event, TOPIC, cert.keyPem, { version, ...(subject ? { subject } : {}) });
        expect(await verifySnsSignature(n, pinned), `v${version} ${subject}`).toEqual({ ok: true });
      }
    }
    const n = signedNotification(event, TOPIC, cert.keyPem);
    const refused = async (changed: Record<string, unknown>) => {
      const r = await verifySnsSignature({ ...n, ...changed } as never, pinned);
      return r.ok ? 'valid' : `${r.kind}: ${r.detail}`;
    };
    expect(await refused({ Message: event.replace('"E"', '"X"') })).toBe(
      'invalid: the SignatureVersion 2 signature does not verify',
    );
    expect(await refused({ TopicArn: 'arn:aws:sns:eu-west-1:111122223333:other' })).toMatch(/^invalid/);
    expect(await refused({ Subject: 'added' })).toMatch(/^invalid/);
    expect(await refused({ SignatureVersion: '3' })).toBe('invalid: SignatureVersion is not "1" or "2"');
    expect(await refused({ Signature: undefined })).toBe('invalid: no Signature');
    expect(await refused({ Signature: 'EXAMPLE' })).toMatch(/^invalid: the SignatureVersion 2 signature/);
    expect(await refused({ Timestamp: undefined })).toBe('invalid: the signed field Timestamp is missing');
  });

  it('fetch certificates only from SNS hosts, once per URL, and tell an outage from a forgery', async () => {
    let calls = 0;
    let answer: () => Response = () => new Response(cert.certPem, { status: 200 });
    const certs = fetchedCerts({
      fetch: async () => {
        calls += 1;
        return answer();
      },
      retryAfterMs: 1000,
      now: () => clock,
    });
    let clock = 0;
    const n = signedNotification(event, TOPIC, cert.keyPem);
    const results = await Promise.all(Array.from({ length: 20 }, () => verifySnsSignature(n, certs)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toBe(1);
    const forged = { ...n, SigningCertURL: 'https://attacker.example.com/SimpleNotificationService-1.pem' };
    expect(await verifySnsSignature(forged, certs)).toMatchObject({ ok: false, kind: 'invalid' });
    const lookalike = {
      ...n,
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com.attacker.example/SimpleNotificationService-1.pem',
    };
    expect(await verifySnsSignature(lookalike, certs)).toMatchObject({ ok: false, kind: 'invalid' });
    expect(calls).toBe(1);

    // An outage: unavailable, one request per retryAfterMs however many messages ask.
    const other = { ...n, SigningCertURL: CERT_URL.replace('0123', '9999') };
    answer = () => new Response('<html>Service Unavailable</html>', { status: 503 });
    const during = await Promise.all(Array.from({ length: 5 }, () => verifySnsSignature(other, certs)));
    expect(during.every((r) => !r.ok && r.kind === 'unavailable')).toBe(true);
    expect(during[0]).toMatchObject({ detail: expect.stringContaining('HTTP 503') });
    await verifySnsSignature(other, certs);
    expect([calls, certs.failures]).toEqual([2, 1]);
    // After retryAfterMs the outage is asked again, and its end is seen.
    clock = 1500;
    answer = () => new Response(cert.certPem, { status: 200 });
    expect(
      await verifySnsSignature(
        { ...signedNotification(event, TOPIC, cert.keyPem), SigningCertURL: other.SigningCertURL },
        certs,
      ),
    ).toEqual({ ok: true });
    expect(calls).toBe(3);
  });

  it('an SNS host that answers but gives no SNS certificate: the message is at fault, refused at once', async () => {
    const requests: RequestInit[] = [];
    let answer: () => Response = () => new Response('', { status: 404 });
    const certs = fetchedCerts({
      fetch: async (_url, init) => {
        requests.push(init ?? {});
        return answer();
      },
    });
    const n = signedNotification(event, TOPIC, cert.keyPem);
    const url = (id: string) => CERT_URL.replace('0123456789abcdef', id);
    const at = (id: string) => verifySnsSignature({ ...n, SigningCertURL: url(id) }, certs);
    expect(await at('aaaa')).toMatchObject({ ok: false, kind: 'invalid', detail: expect.stringContaining('HTTP 404') });
    // Remembered: asking again costs no request.
    expect(await at('aaaa')).toMatchObject({ kind: 'invalid' });
    expect(requests).toHaveLength(1);
    answer = () => new Response('', { status: 302, headers: { location: 'https://attacker.example/c.pem' } });
    expect(await at('bbbb')).toMatchObject({ kind: 'invalid', detail: expect.stringContaining('HTTP 302') });
    expect(requests.at(-1)?.redirect).toBe('manual');
    answer = () => new Response('<html>not a certificate</html>', { status: 200 });
    expect(await at('cccc')).toMatchObject({ kind: 'invalid', detail: expect.stringContaining('not a PEM') });
    const stranger = makeSigningCert('attacker.example');
    answer = () => new Response(stranger.certPem, { status: 200 });
    const signedByStranger = signedNotification(event, TOPIC, stranger.keyPem);
    expect(await verifySnsSignature({ ...signedByStranger, SigningCertURL: url('dddd') }, certs)).toMatchObject({
      kind: 'invalid',
      detail: expect.stringContaining('the certificate is not issued to sns.amazonaws.com'),
    });
    // The S3 hosts that look like SNS are never asked.
    const before = requests.length;
    for (const host of ['sns.s3', 'sns.s3-accelerate', 'sns.s3-website-us-east-1', 'sns.s3-external-1']) {
      const s3 = { ...n, SigningCertURL: `https://${host}.amazonaws.com/SimpleNotificationService-1.pem` };
      expect(await verifySnsSignature(s3, certs), host).toMatchObject({ kind: 'invalid' });
    }
    expect(requests).toHaveLength(before);
  });

  it.each([408, 429, 500, 503])(
    'HTTP %i from the SNS host is an outage: retried after retryAfterMs, not refused for 10 min',
    async (status) => {
      let clock = 0;
      let answer = () => new Response('', { status });
      const certs = fetchedCerts({ fetch: async () => answer(), retryAfterMs: 1000, now: () => clock });
      const n = signedNotification(event, TOPIC, cert.keyPem);
      expect(await verifySnsSignature(n, certs)).toMatchObject({
        ok: false,
        kind: 'unavailable',
        detail: expect.stringContaining(`HTTP ${status}`),
      });
      clock = 1500;
      answer = () => new Response(cert.certPem, { status: 200 });
      expect(await verifySnsSignature(n, certs)).toEqual({ ok: true });
    },
  );

  it('keep the certificate and failure caches at their bound, however many URLs senders write', async () => {
    let clock = 0;
    const certs = fetchedCerts({
      fetch: async () => new Response('', { status: 404 }),
      maxEntries: 1000,
      refusedForMs: 60_000,
      now: () => clock,
    });
    let largest = 0;
    for (let i = 0; i < 50_000; i += 1) {
      const r = await certs.keys(CERT_URL.replace('0123456789abcdef', `f${i}`));
      if (r.ok || r.kind !== 'invalid') throw new Error(`URL ${i}: ${JSON.stringify(r)}`);
      largest = Math.max(largest, certs.cached());
      clock += 1;
    }
    expect(largest).toBeLessThanOrEqual(2 * 1000);
    expect(certs.failures).toBe(50_000);
  });

  it('pinned certificates: an unreadable or empty file is a configuration error', () => {
    expect(() => pinnedCerts('/nonexistent/cert.pem')).toThrow(ConfigError);
    expect(() => pinnedCerts('/etc/hostname')).toThrow(
      /SNS_SIGNING_CERT_FILE="\/etc\/hostname" holds no PEM certificate/,
    );
  });
});

describe('admission', () => {
  const logger = pino({ level: 'silent' });
  const fate = { ...FATE, receiveCount: 3 };
  const message = (body: string, senderId?: string): Message => ({
    Body: body,
    ...(senderId === undefined ? {} : { Attributes: { SenderId: senderId } }),
  });

  it('dead-letters refused senders and bad signatures, and hands back while the certificate is out of reach', async () => {
    const settings = admissionFromEnv({ ALLOWED_SENDERS: ROLE, ALLOWED_SNS_TOPICS: TOPIC }).settings;
    if (settings === undefined) throw new Error('no settings');
    const a = new Admission(new Allowlist(settings.allowlist), { certs: pinnedCerts(cert.certFile), logger });
    const admit = (m: Message) => a.admit(m, parseEvent(m.Body));
    expect(await admit(message(event, `${ROLE}:w`))).toBeUndefined();
    const refused = await admit(message(event, USER));
    expect(refused).toMatchObject({ stage: 'admit', verdict: 'sender_not_allowed' });
    expect(refused && decide(refused, fate)).toMatchObject({ kind: 'deadLetter', reason: 'sender_not_allowed' });
    // Garbage from a refused sender is reported as a refused sender.
    expect(await admit(message('not json', USER))).toMatchObject({ verdict: 'sender_not_allowed' });
    const signed = JSON.stringify(signedNotification(event, TOPIC, cert.keyPem));
    expect(await admit(message(signed, 'AIDASNS'))).toBeUndefined();
    const forged = JSON.stringify({ ...JSON.parse(signed), Message: event.replace('"E"', '"F"') });
    expect(await admit(message(forged, 'AIDASNS'))).toMatchObject({ verdict: 'sns_signature_invalid' });

    const down = new Admission(new Allowlist(settings.allowlist), {
      certs: fetchedCerts({ fetch: async () => new Response('', { status: 500 }) }),
      logger,
    });
    const waiting = await down.admit(message(signed, 'AIDASNS'), parseEvent(signed));
    expect(waiting).toMatchObject({ verdict: 'sns_cert_unavailable' });
    if (waiting === undefined) throw new Error('admitted');
    expect(decide(waiting, fate)).toMatchObject({ kind: 'retryLater', cause: 'sns_cert_unavailable' });
    // Not the message's fault: never counted toward MAX_RECEIVES, never retries_exhausted.
    expect(countsAgainstMessage(waiting)).toBe(false);
    expect(decide(waiting, { ...fate, ownFailures: 99 })).toMatchObject({ kind: 'retryLater' });
    // A certificate URL on an SNS host that answers 404 is the message's fault: dead-lettered on its first receive.
    const missing = new Admission(new Allowlist(settings.allowlist), {
      certs: fetchedCerts({ fetch: async () => new Response('Not Found', { status: 404 }) }),
      logger,
    });
    const gone = await missing.admit(message(signed, 'AIDASNS'), parseEvent(signed));
    expect(gone).toMatchObject({ verdict: 'sns_signature_invalid', detail: expect.stringContaining('HTTP 404') });
    if (gone === undefined) throw new Error('admitted');
    expect(decide(gone, { ...fate, receiveCount: 1 })).toMatchObject({
      kind: 'deadLetter',
      reason: 'sns_signature_invalid',
    });
    expect(down.health).toMatchObject({
      allowlist: 'on',
      sns_signatures: 'verified',
      trust_queue_policy: false,
      sns_cert_last_error: { detail: expect.stringContaining('HTTP 500') },
    });
  });

  it('never quotes sender-written text in a detail (a token could ride in it)', async () => {
    const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAXJ1bmF3YXlUb2tlbnRoYXRtdXN0bm90bGVhaw';
    const settings = admissionFromEnv({
      ALLOWED_SENDERS: ROLE,
      ALLOWED_SNS_TOPICS: TOPIC,
      ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
      ALLOWED_EVENTBRIDGE_ACCOUNTS: '111122223333',
      ALLOWED_CLOUDEVENT_SOURCES: '//orders/*',
      TRUST_QUEUE_POLICY: 'true',
    }).settings;
    if (settings === undefined) throw new Error('no settings');
    const fetched = fetchedCerts({ fetch: async () => new Response('', { status: 404 }) });
    const certsFor = new Admission(new Allowlist(settings.allowlist), { certs: fetched, logger });
    const detailOf = async (body: unknown, sender = USER) => {
      const text = JSON.stringify(body);
      const m = message(text, sender);
      const evidence = await certsFor.admit(m, parseEvent(text));
      return evidence !== undefined && 'detail' in evidence ? evidence.detail : 'admitted';
    };
    const ce = (source: string) => ({ specversion: '1.0', id: '1', source, type: 't', data: JSON.parse(event) });
    const signed = signedNotification(JSON.stringify(ce('//orders/a')), TOPIC, cert.keyPem);
    const details = [
      await detailOf({ ...signed, SigningCertURL: `https://example.com/${TOKEN}` }),
      await detailOf({
        ...signed,
        SigningCertURL: `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${TOKEN.slice(0, 60)}.pem`,
      }),
      await detailOf({ ...signed, SignatureVersion: TOKEN }),
      await detailOf({ Type: 'Notification', TopicArn: `arn:aws:sns:eu-west-1:111122223333:${TOKEN}`, Message: event }),
      await detailOf({ Type: 'Notification', TopicArn: TOKEN, Message: event }),
      await detailOf({ 'detail-type': 'x', source: TOKEN, account: TOKEN, detail: JSON.parse(event) }),
      await detailOf({ 'detail-type': 'x', source: 'com.example.orders', account: '111122223333', detail: ce(TOKEN) }),
      await detailOf(ce(TOKEN), `${ROLE}:w`),
    ];
    expect(details).toEqual([
      expect.stringContaining('the SigningCertURL on host example.com is not an SNS certificate URL'),
      expect.stringContaining('fetching the certificate on host sns.us-east-1.amazonaws.com failed: HTTP 404'),
      'SignatureVersion is not "1" or "2"',
      `SenderId "${USER}" is not in ALLOWED_SENDERS; an SNS topic of account 111122223333 is not in ALLOWED_SNS_TOPICS`,
      `SenderId "${USER}" is not in ALLOWED_SENDERS; the SNS TopicArn (not a topic ARN) is not in ALLOWED_SNS_TOPICS`,
      `SenderId "${USER}" is not in ALLOWED_SENDERS; the EventBridge source is not in ALLOWED_EVENTBRIDGE_SOURCES; the EventBridge account (not a 12-digit id) is not in ALLOWED_EVENTBRIDGE_ACCOUNTS`,
      'the CloudEvent source is not in ALLOWED_CLOUDEVENT_SOURCES',
      'no outermost EventBridge envelope, and ALLOWED_EVENTBRIDGE_SOURCES is set',
    ]);
    for (const d of details) expect(d).not.toContain(TOKEN.slice(0, 16));
    const badCe = parseEvent(JSON.stringify({ ...ce('//orders/a'), specversion: TOKEN, datacontenttype: TOKEN }));
    expect(badCe).toMatchObject({
      ok: false,
      detail: 'CloudEvent "specversion" must be "1.0", got a 58-character string',
    });
  });
});
