/**
 * The sender allowlist end to end on fauxqs, which fills SenderId with its account id
 * 000000000000: an allowlist that includes it lets events fail their executions; one that excludes
 * it dead-letters them as sender_not_allowed with the sender recorded, and Step Functions never
 * sees their tokens (the recording proxy). SNS topics through fauxqs' own SNS; signatures with a
 * certificate of the test's own (fauxqs signs "EXAMPLE"); EventBridge bodies as EventBridge
 * delivers them. With the allowlist off nothing changes and SenderId is not even requested.
 */
import { randomUUID } from 'node:crypto';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadLetterInfo, readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import {
  createActivityMachine,
  queueCounts,
  startExecutionsWithTokens,
  waitForFailedOnce,
} from '../support/emulators.js';
import { startInProcess } from '../support/inProcess.js';
import { drainQueue, publish } from '../support/queue.js';
import { startRelayProcess } from '../support/relayProcess.js';
import { snsClient, topicInto } from '../support/sns.js';
import { makeSigningCert, signedNotification } from '../support/snsSigning.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const FAUXQS_SENDER = '000000000000';
const OTHER_ROLE = 'AROA3XFRBF535PLBIFPI4';
let sns: SNSClient;
beforeAll(() => {
  sns = snsClient(emu.sqs.endpoint);
});
afterAll(() => sns.destroy());

async function queues(prefix: string) {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  return { name, source: await emu.sqs.createQueue(name), dlq: await emu.sqs.createQueue(`${name}-dlq`) };
}

/** Runs a relay with `env` until the source queue is empty; the DLQ's messages and their info. */
async function relayUntilDrained(q: { name: string; source: string; dlq: string }, env: Record<string, string>) {
  const service = await startInProcess(emu, q, { AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint, ...env });
  try {
    await waitFor('the source queue to drain', () => queueCounts(emu.sqs.server, q.name).total === 0, {
      timeoutMs: 30_000,
    });
  } finally {
    await service.stop();
  }
  const dead = await drainQueue(emu.sqs.client, q.dlq);
  return dead.map((m) => ({ body: m.Body ?? '', info: readDeadLetterInfo(m) as DeadLetterInfo }));
}

const failure = (token: string, i: number) => JSON.stringify({ taskToken: token, error: `S${i}`, cause: `c${i}` });

describe('the sender allowlist', () => {
  it('SenderId: allowed senders fail their executions, others are dead-lettered and never reach Step Functions', async () => {
    const allowed = await queues('allow');
    const denied = await queues('deny');
    const machine = await createActivityMachine(emu.sfn.client, allowed.name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 8);
    await publish(
      emu.sqs.client,
      allowed.source,
      tasks.slice(0, 4).map((t, i) => failure(t.token, i)),
    );
    await publish(emu.sqs.client, denied.source, [...tasks.slice(4).map((t, i) => failure(t.token, i)), 'not json']);

    expect(await relayUntilDrained(allowed, { ALLOWED_SENDERS: `${OTHER_ROLE},${FAUXQS_SENDER}` })).toEqual([]);
    await waitForFailedOnce(emu.sfn.client, tasks.slice(0, 4));

    const dead = await relayUntilDrained(denied, { ALLOWED_SENDERS: OTHER_ROLE });
    expect(dead).toHaveLength(5);
    for (const d of dead) {
      expect(d.info).toMatchObject({
        reason: 'sender_not_allowed',
        detail: `SenderId "${FAUXQS_SENDER}" is not in ALLOWED_SENDERS`,
        sender: FAUXQS_SENDER,
      });
    }
    // The garbage body is reported as what matters more: a sender that is not allowed.
    expect(dead.map((d) => d.body)).toContain('not json');
    const calls = emu.proxy.forwardedByToken();
    for (const t of tasks.slice(4)) expect(calls.get(t.token), 'a denied token reached Step Functions').toBeUndefined();
    // The DLQ attribute names the sender, never the token (the body is kept as it was).
    const infos = JSON.stringify(dead.map((d) => d.info));
    for (const t of tasks.slice(4)) expect(infos).not.toContain(t.token);
  });

  it('off: behaviour unchanged, and SenderId is not requested', async () => {
    const q = await queues('off');
    const machine = await createActivityMachine(emu.sfn.client, q.name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    await publish(emu.sqs.client, q.source, [...tasks.map((t, i) => failure(t.token, i)), 'not json']);
    const dead = await relayUntilDrained(q, {});
    await waitForFailedOnce(emu.sfn.client, tasks);
    expect(dead.map((d) => d.info.reason)).toEqual(['body_not_json']);
    expect(dead[0]?.info.sender).toBeUndefined();
  });

  it('SNS topics through fauxqs SNS, EventBridge sources and accounts', async () => {
    const q = await queues('sns');
    const good = await topicInto(sns, emu.sqs.client, `${q.name}-good`, q.source);
    const other = await topicInto(sns, emu.sqs.client, `${q.name}-other`, q.source, { raw: false });
    const machine = await createActivityMachine(emu.sfn.client, q.name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 7);
    const token = (i: number) => tasks[i]?.token ?? '';
    const eb = (i: number, source: string, account: string) =>
      JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': 'Task Failed',
        source,
        account,
        time: '2026-11-29T12:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: JSON.parse(failure(token(i), i)),
      });
    await sns.send(new PublishCommand({ TopicArn: good, Message: failure(token(0), 0) }));
    await sns.send(new PublishCommand({ TopicArn: good, Message: failure(token(1), 1) }));
    await sns.send(new PublishCommand({ TopicArn: other, Message: failure(token(2), 2) }));
    await publish(emu.sqs.client, q.source, [
      eb(3, 'com.example.orders', '111122223333'),
      eb(4, 'com.example.billing', '111122223333'),
      eb(5, 'com.example.orders', '999999999999'),
      failure(token(6), 6),
    ]);
    const dead = await relayUntilDrained(q, {
      ALLOWED_SNS_TOPICS: good,
      // fauxqs signs with "EXAMPLE": its notifications cannot be verified.
      SNS_VERIFY_SIGNATURES: 'false',
      ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
      ALLOWED_EVENTBRIDGE_ACCOUNTS: '111122223333',
      // fauxqs' SenderId is the same for everyone: the EventBridge rule admits only on the queue policy.
      TRUST_QUEUE_POLICY: 'true',
    });
    await waitForFailedOnce(
      emu.sfn.client,
      [0, 1, 3].map((i) => tasks[i] as (typeof tasks)[number]),
    );
    const byToken = (i: number) => dead.find((d) => d.body.includes(token(i)))?.info;
    expect(byToken(2)).toMatchObject({
      reason: 'sender_not_allowed',
      detail: `an SNS topic of account ${other.split(':')[4]} is not in ALLOWED_SNS_TOPICS`,
      origin: { envelope: 'sns', snsTopicArn: other },
    });
    expect(byToken(4)?.detail).toBe('the EventBridge source is not in ALLOWED_EVENTBRIDGE_SOURCES');
    expect(byToken(5)?.detail).toBe('EventBridge account 999999999999 is not in ALLOWED_EVENTBRIDGE_ACCOUNTS');
    expect(byToken(6)?.detail).toBe('no rule admits a message delivered as plain');
    expect(dead).toHaveLength(4);
    const calls = emu.proxy.forwardedByToken();
    expect([2, 4, 5, 6].map((i) => calls.get(token(i)))).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('forged envelopes: an inner envelope or a self-made EventBridge event never admits, and Step Functions is never called', async () => {
    const q = await queues('forged');
    const good = await topicInto(sns, emu.sqs.client, `${q.name}-good`, q.source);
    const unlisted = await topicInto(sns, emu.sqs.client, `${q.name}-unlisted`, q.source);
    const machine = await createActivityMachine(emu.sfn.client, q.name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 3);
    const token = (i: number) => tasks[i]?.token ?? '';
    const eb = (i: number) =>
      JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': 'Task Failed',
        source: 'com.example.orders',
        account: '111122223333',
        time: '2026-12-05T12:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: JSON.parse(failure(token(i), i)),
      });
    const rules = {
      ALLOWED_SENDERS: OTHER_ROLE,
      ALLOWED_SNS_TOPICS: good,
      SNS_VERIFY_SIGNATURES: 'false',
      ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
      ALLOWED_EVENTBRIDGE_ACCOUNTS: '111122223333',
    };
    // SNS from a topic not on the list, wrapping an allowed EventBridge event; a CloudEvent wrapping one.
    await sns.send(new PublishCommand({ TopicArn: unlisted, Message: eb(0) }));
    const cloudEvent = {
      specversion: '1.0',
      id: randomUUID(),
      source: '//orders/x',
      type: 't',
      data: JSON.parse(eb(1)),
    };
    await publish(emu.sqs.client, q.source, [JSON.stringify(cloudEvent)]);
    // Even when the EventBridge rule is trusted on its own, only the outermost envelope counts.
    const nested = await relayUntilDrained(q, { ...rules, TRUST_QUEUE_POLICY: 'true' });
    expect(nested.map((d) => [d.info.reason, d.info.origin?.envelope])).toEqual(
      expect.arrayContaining([
        ['sender_not_allowed', 'sns>eventbridge'],
        ['sender_not_allowed', 'cloudevent>eventbridge'],
      ]),
    );
    expect(nested.find((d) => d.info.origin?.envelope === 'sns>eventbridge')?.info.detail).toBe(
      `SenderId "${FAUXQS_SENDER}" is not in ALLOWED_SENDERS; an SNS topic of account ${unlisted.split(':')[4]} is not in ALLOWED_SNS_TOPICS`,
    );
    // A self-made EventBridge event sent straight to the queue: without TRUST_QUEUE_POLICY it needs its sender.
    const q2 = await queues('self-made');
    await publish(emu.sqs.client, q2.source, [eb(2)]);
    const selfMade = await relayUntilDrained(q2, rules);
    expect(selfMade.map((d) => [d.info.reason, d.info.detail])).toEqual([
      ['sender_not_allowed', `SenderId "${FAUXQS_SENDER}" is not in ALLOWED_SENDERS`],
    ]);
    const calls = emu.proxy.forwardedByToken();
    expect([0, 1, 2].map((i) => calls.get(token(i)))).toEqual([undefined, undefined, undefined]);
  });

  it('with TRUST_QUEUE_POLICY a listed sender is still narrowed by the EventBridge lists, and a detail never quotes a SigningCertURL', async () => {
    const q = await queues('narrowed');
    const topic = await topicInto(sns, emu.sqs.client, `${q.name}-t`, q.source);
    const machine = await createActivityMachine(emu.sfn.client, q.name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    const token = (i: number) => tasks[i]?.token ?? '';
    // The sender is listed, but neither body is an EventBridge event; the second's SigningCertURL carries a token.
    const forged = {
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: topic,
      Message: failure(token(1), 1),
      Timestamp: '2026-12-05T12:00:00.000Z',
      SignatureVersion: '1',
      Signature: 'AAAA',
      SigningCertURL: `https://example.com/${token(1)}`,
    };
    await publish(emu.sqs.client, q.source, [failure(token(0), 0), JSON.stringify(forged)]);
    const dead = await relayUntilDrained(q, {
      ALLOWED_SENDERS: FAUXQS_SENDER,
      ALLOWED_SNS_TOPICS: topic,
      ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
      TRUST_QUEUE_POLICY: 'true',
    });
    const narrowed = 'no outermost EventBridge envelope, and ALLOWED_EVENTBRIDGE_SOURCES is set';
    expect(dead.map((d) => [d.info.reason, d.info.detail])).toEqual([
      ['sender_not_allowed', narrowed],
      ['sender_not_allowed', narrowed],
    ]);
    // Admitted by its topic, the notification's SigningCertURL is refused by its host alone.
    const q2 = await queues('cert-url');
    await publish(emu.sqs.client, q2.source, [JSON.stringify(forged)]);
    const refused = await relayUntilDrained(q2, { ALLOWED_SNS_TOPICS: topic });
    expect(refused.map((d) => [d.info.reason, d.info.detail])).toEqual([
      [
        'sns_signature_invalid',
        'the SigningCertURL on host example.com is not an SNS certificate URL: the host is not sns.<region>.amazonaws.com',
      ],
    ]);
    expect(JSON.stringify(refused[0]?.info)).not.toContain(token(1));
    const calls = emu.proxy.forwardedByToken();
    expect([0, 1].map((i) => calls.get(token(i)))).toEqual([undefined, undefined]);
  });

  it('SNS signatures: a signed notification passes, a tampered or unsigned one is dead-lettered', async () => {
    const q = await queues('sig');
    const cert = makeSigningCert();
    const topic = 'arn:aws:sns:us-east-1:111122223333:task-failures';
    const machine = await createActivityMachine(emu.sfn.client, q.name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 4);
    const token = (i: number) => tasks[i]?.token ?? '';
    const signed = (i: number, version: '1' | '2') =>
      JSON.stringify(signedNotification(failure(token(i), i), topic, cert.keyPem, { version }));
    const tampered = JSON.parse(signed(2, '2')) as Record<string, string>;
    tampered.Message = failure(token(2), 99);
    // Delivered by fauxqs' SNS: its "EXAMPLE" signature does not verify.
    const fauxTopic = await topicInto(sns, emu.sqs.client, 'task-failures', q.source);
    expect(fauxTopic.endsWith(':task-failures')).toBe(true);
    await publish(emu.sqs.client, q.source, [signed(0, '1'), signed(1, '2'), JSON.stringify(tampered)]);
    await sns.send(new PublishCommand({ TopicArn: fauxTopic, Message: failure(token(3), 3) }));
    const dead = await relayUntilDrained(q, {
      ALLOWED_SNS_TOPICS: `${topic},${fauxTopic}`,
      SNS_SIGNING_CERT_FILE: cert.certFile,
    });
    await waitForFailedOnce(emu.sfn.client, tasks.slice(0, 2));
    expect(dead.map((d) => d.info.reason)).toEqual(['sns_signature_invalid', 'sns_signature_invalid']);
    expect(dead.map((d) => d.info.detail).sort()).toEqual([
      'the SignatureVersion 1 signature does not verify',
      'the SignatureVersion 2 signature does not verify',
    ]);
    const calls = emu.proxy.forwardedByToken();
    expect([calls.get(token(2)), calls.get(token(3))]).toEqual([undefined, undefined]);
  });

  it('bad settings stop the relay at start with one line naming the variable', async () => {
    const q = await queues('bad');
    const base = {
      SOURCE_QUEUE_URL: q.source,
      DLQ_URL: q.dlq,
      AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
    };
    const cases: [Record<string, string>, RegExp][] = [
      [
        { ALLOWED_SENDERS: 'arn:aws:iam::111122223333:role/worker' },
        /ALLOWED_SENDERS=".*" has the ARN .* use the role id/,
      ],
      [
        { ALLOWED_SNS_TOPICS: 'task-failures' },
        /ALLOWED_SNS_TOPICS="task-failures" has "task-failures", which is not an SNS topic ARN/,
      ],
      [
        { ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders' },
        /ALLOWED_EVENTBRIDGE_SOURCES="com.example.orders" admits nothing on its own: .*TRUST_QUEUE_POLICY=true/,
      ],
      [
        { ALLOWED_SNS_TOPICS: 'arn:aws:sns:us-east-1:1:t', SNS_SIGNING_CERT_FILE: '/no/such/cert.pem' },
        /SNS_SIGNING_CERT_FILE="\/no\/such\/cert.pem" cannot be read as PEM certificates/,
      ],
    ];
    for (const [extra, message] of cases) {
      const r = await startRelayProcess({ ...base, ...extra }).then(
        () => {
          throw new Error(`started with ${JSON.stringify(extra)}`);
        },
        (err: Error) => err.message,
      );
      expect(r, JSON.stringify(extra)).toMatch(/relay exited with 2/);
      expect(r).toMatch(message);
      expect(r.match(/sfn-failure-relay:/g)).toHaveLength(1);
    }
  });
});
