import { describe, expect, it } from 'vitest';
import { admissionFromEnv } from '../../src/admission/settings.js';
import { encryptionCheck, policyCheck, policyExpectations, readPolicy, sseOf } from '../../src/pipeline/queuePolicy.js';

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

  describe('counts only what keeps others out (a review found key-only reading)', () => {
    const check = (...statements: unknown[]) => policyCheck(readPolicy(policy(...statements)), trustEventBridge);
    const deny = (extra: Record<string, unknown>) => ({ ...denyOthers, ...extra });
    const OWN = '111122223333';

    it.each([
      ['D: a Deny of the rule itself (not negated)', deny({ Condition: { ArnEquals: { 'aws:SourceArn': RULE } } })],
      ['E: NotAction sqs:SendMessage', { ...deny({ NotAction: 'sqs:SendMessage' }), Action: undefined }],
      [
        'I: a second condition that must also hold',
        deny({
          Condition: { ArnNotEquals: { 'aws:SourceArn': RULE }, Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ],
      [
        'J: a Deny of one other account',
        deny({ Condition: { StringEquals: { 'aws:PrincipalAccount': '999999999999' } } }),
      ],
      ['an IfExists form', deny({ Condition: { ArnNotEqualsIfExists: { 'aws:SourceArn': RULE } } })],
      ['a rule the Allow does not pin', deny({ Condition: { ArnNotEquals: { 'aws:SourceArn': `${RULE}-2` } } })],
      [
        'any rule of any account',
        deny({ Condition: { ArnNotLike: { 'aws:SourceArn': 'arn:aws:events:*:*:rule/*' } } }),
      ],
      ['another principal', deny({ Principal: { AWS: 'arn:aws:iam::111122223333:root' } })],
      ['NotPrincipal', { ...deny({ NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' } }), Principal: undefined }],
      ['only ReceiveMessage', deny({ Action: 'sqs:ReceiveMessage' })],
      [
        'two keys in one block',
        deny({ Condition: { ArnNotEquals: { 'aws:SourceArn': RULE, 'aws:SourceAccount': OWN } } }),
      ],
    ])('a Deny that does not keep others out: %s → warn', (_name, statement) => {
      expect(readPolicy(policy(pinned, statement)).deniesOthers).toBe(false);
      expect(check(pinned, statement)).toMatchObject({ level: 'warn' });
    });

    it('counts a Deny that leaves out only what the Allow pins', () => {
      expect(check(pinned, deny({ Condition: { ArnNotLike: { 'aws:SourceArn': [RULE] } } }))).toMatchObject({
        level: 'ok',
      });
      const byAccount = send({ Principal: events, Condition: { StringEquals: { 'aws:SourceAccount': OWN } } });
      const denyByAccount = deny({
        Principal: { AWS: '*' },
        Condition: { StringNotEquals: { 'aws:SourceAccount': OWN } },
      });
      expect(check(byAccount, denyByAccount)).toMatchObject({ level: 'ok' });
    });

    it.each([
      [
        "A0: ArnLike any account's rule",
        { Principal: '*', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:events:*:*:rule/*' } } },
      ],
      [
        'C0: everyone but the own account',
        { Principal: { AWS: '*' }, Condition: { StringNotEquals: { 'aws:PrincipalAccount': OWN } } },
      ],
      ['ArnEqualsIfExists', { Principal: '*', Condition: { ArnEqualsIfExists: { 'aws:SourceArn': RULE } } }],
      ['Null aws:SourceArn', { Principal: '*', Condition: { Null: { 'aws:SourceArn': 'true' } } }],
      [
        'a rule name with a wildcard',
        { Principal: '*', Condition: { ArnLike: { 'aws:SourceArn': `${RULE.slice(0, -3)}*` } } },
      ],
      ['an account with a wildcard', { Principal: '*', Condition: { StringLike: { 'aws:SourceAccount': '1111*' } } }],
    ])('an Allow that pins nobody counts as open: %s', (_name, extra) => {
      const report = readPolicy(policy(send({ Sid: 'x', ...extra }), denyOthers));
      expect(report.openToEveryone).toEqual(['x']);
      expect(report.services).toEqual([]);
      expect(check(send({ Sid: 'x', ...extra }), pinned, denyOthers)).toMatchObject({ level: 'error' });
      const service = readPolicy(policy(send({ ...extra, Principal: events })));
      expect(service.services).toEqual([{ principal: 'events.amazonaws.com', pinned: false }]);
    });

    it('a region wildcard still pins the rule', () => {
      const anyRegion = RULE.replace('eu-west-1', '*');
      const allow = send({ Principal: events, Condition: { ArnLike: { 'aws:SourceArn': anyRegion } } });
      const only = deny({ Condition: { ArnNotLike: { 'aws:SourceArn': anyRegion } } });
      expect(check(allow, only)).toMatchObject({ level: 'ok' });
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
