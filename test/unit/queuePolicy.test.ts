import { describe, expect, it } from 'vitest';
import { admissionFromEnv } from '../../src/admission/settings.js';
import { encryptionCheck, policyCheck, policyExpectations, readPolicy, sseOf } from '../../src/queuePolicy.js';

const QUEUE = 'arn:aws:sqs:eu-west-1:111122223333:task-failures';
const RULE = 'arn:aws:events:eu-west-1:111122223333:rule/task-failed';
const send = (extra: Record<string, unknown>) => ({
  Effect: 'Allow',
  Action: 'sqs:SendMessage',
  Resource: QUEUE,
  ...extra,
});
const policy = (...statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const events = { Service: 'events.amazonaws.com' };
const pinned = send({ Sid: 'events', Principal: events, Condition: { ArnEquals: { 'aws:SourceArn': RULE } } });
const denyOthers = {
  Sid: 'only-events',
  Effect: 'Deny',
  Principal: '*',
  Action: 'sqs:SendMessage',
  Resource: QUEUE,
  Condition: { ArnNotEquals: { 'aws:SourceArn': RULE } },
};

const expectations = (env: Parameters<typeof admissionFromEnv>[0]) =>
  policyExpectations(admissionFromEnv(env).settings?.allowlist);
const trustEventBridge = expectations({
  ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
  TRUST_QUEUE_POLICY: 'true',
});

describe('the source queue policy', () => {
  it('reads who may send: everyone, services pinned or not, a Deny for others', () => {
    expect(readPolicy(undefined)).toEqual({ policy: 'none', openToEveryone: [], services: [], deniesOthers: false });
    expect(readPolicy('{not json')).toMatchObject({ policy: 'unreadable' });
    expect(readPolicy(policy(pinned, denyOthers))).toEqual({
      policy: 'present',
      openToEveryone: [],
      services: [{ principal: 'events.amazonaws.com', pinned: true }],
      deniesOthers: true,
    });
    const open = readPolicy(
      policy(
        send({ Principal: '*' }),
        send({ Sid: 'all-sqs', Principal: { AWS: ['*'] }, Action: ['sqs:*'] }),
        send({ Sid: 'unpinned', Principal: events, Action: 'SQS:Send*' }),
        send({ Sid: 'role', Principal: { AWS: 'arn:aws:iam::111122223333:role/worker' } }),
        send({ Sid: 'org', Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } }),
        send({ Sid: 'read', Principal: '*', Action: 'sqs:ReceiveMessage' }),
      ),
    );
    expect(open).toEqual({
      policy: 'present',
      openToEveryone: ['#1', 'all-sqs'],
      services: [{ principal: 'events.amazonaws.com', pinned: false }],
      deniesOthers: false,
    });
  });

  it('says whether it restricts SendMessage the way the rules assume', () => {
    const check = (text: string | undefined, e = trustEventBridge) => policyCheck(readPolicy(text), e);
    expect(check(policy(pinned, denyOthers))).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('as the allowlist assumes'),
    });
    // Pinned, but same-account principals with sqs:SendMessage can still write an EventBridge event.
    expect(check(policy(pinned))).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('add a Deny for other principals'),
    });
    expect(check(policy(send({ Principal: events }), denyOthers))).toMatchObject({
      level: 'error',
      message: expect.stringContaining(
        'no statement pins events.amazonaws.com by aws:SourceArn, so messages can be forged',
      ),
    });
    expect(check(policy(pinned, denyOthers, send({ Principal: '*' })))).toMatchObject({ level: 'error' });
    // The older form: anyone, on condition that the source is the rule.
    const anyoneFromTheRule = send({ Principal: '*', Condition: { ArnEquals: { 'aws:SourceArn': RULE } } });
    expect(check(policy(anyoneFromTheRule, denyOthers))).toMatchObject({ level: 'ok' });
    expect(check(undefined)).toMatchObject({ level: 'error' });
    // Rules that trust nothing unsigned: an open policy is only worth a warning, a closed one is fine.
    const senders = expectations({ ALLOWED_SENDERS: 'AROA3XFRBF535PLBIFPI4' });
    expect(check(policy(send({ Principal: '*' })), senders)).toMatchObject({ level: 'warn' });
    expect(check(undefined, senders)).toMatchObject({ level: 'ok' });
    // SNS without signature checks trusts the policy to pin the topic.
    const unsignedSns = expectations({
      ALLOWED_SNS_TOPICS: 'arn:aws:sns:eu-west-1:111122223333:t',
      SNS_VERIFY_SIGNATURES: 'false',
    });
    expect(unsignedSns.trustedServices).toEqual(['sns.amazonaws.com']);
    expect(check(policy(send({ Principal: { Service: 'sns.amazonaws.com' } })), unsignedSns)).toMatchObject({
      level: 'error',
    });
  });

  it('reports server-side encryption on both queues', () => {
    expect(sseOf({ SqsManagedSseEnabled: 'true' })).toBe('SSE-SQS');
    expect(sseOf({ KmsMasterKeyId: 'alias/relay' })).toBe('SSE-KMS');
    expect(sseOf({})).toBe('off');
    expect(encryptionCheck('SSE-SQS', 'SSE-KMS')).toMatchObject({ level: 'ok' });
    expect(encryptionCheck('SSE-SQS', 'off')).toMatchObject({
      name: 'queue_encryption',
      level: 'warn',
      message: expect.stringMatching(/^DLQ_URL has no server-side encryption/),
    });
  });
});
