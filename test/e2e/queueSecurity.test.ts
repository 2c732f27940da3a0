/**
 * The start-up check of the source queue's policy and of both queues' encryption, end to end:
 * fauxqs stores the Policy and SqsManagedSseEnabled attributes it is given, the relay reads them,
 * says in one log line whether the policy restricts SendMessage the way the rules assume, and
 * shows it on /readyz (queue_security).
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startInProcess } from '../support/inProcess.js';
import { useEmulators } from '../support/useEmulators.js';

const emu = useEmulators();
const RULE = 'arn:aws:events:us-east-1:000000000000:rule/task-failed';
const TRUSTED = {
  ALLOWED_EVENTBRIDGE_SOURCES: 'com.example.orders',
  TRUST_QUEUE_POLICY: 'true',
  LOG_LEVEL: 'info',
};

function statements(pinned: boolean): string {
  const events = {
    Sid: 'events',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: '*',
    ...(pinned ? { Condition: { ArnEquals: { 'aws:SourceArn': RULE } } } : {}),
  };
  const deny = {
    Sid: 'only-the-rule',
    Effect: 'Deny',
    Principal: '*',
    Action: 'sqs:SendMessage',
    Resource: '*',
    Condition: { ArnNotEquals: { 'aws:SourceArn': RULE } },
  };
  return JSON.stringify({ Version: '2012-10-17', Statement: pinned ? [events, deny] : [events] });
}

async function startWith(pinned: boolean, sse: boolean) {
  const name = `policy-${randomUUID().slice(0, 8)}`;
  const attributes = { Policy: statements(pinned), SqsManagedSseEnabled: String(sse) };
  const source = await emu.sqs.createQueue(name, attributes);
  const dlq = await emu.sqs.createQueue(`${name}-dlq`, { SqsManagedSseEnabled: String(sse) });
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  const service = await startInProcess(emu, { source, dlq }, TRUSTED, stream);
  try {
    const ready = (await (await fetch(`http://127.0.0.1:${service.port}/readyz`)).json()) as Record<string, unknown>;
    const checks = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.check !== undefined);
    return { ready, checks };
  } finally {
    await service.stop();
  }
}

describe('queue security at start-up', () => {
  it('a policy that pins EventBridge by aws:SourceArn and denies others, on encrypted queues: as the rules assume', async () => {
    const { ready, checks } = await startWith(true, true);
    expect(ready.queue_security).toEqual({
      send_restricted: true,
      as_rules_assume: true,
      policy: 'present',
      open_to_everyone: [],
      unpinned_services: [],
      denies_others: true,
      sse: { source: 'SSE-SQS', dlq: 'SSE-SQS' },
    });
    expect(checks.filter((c) => c.check === 'queue_policy')).toEqual([
      expect.objectContaining({ level: 'info', msg: expect.stringContaining('as the allowlist assumes') }),
    ]);
    expect((ready.checks as Record<string, string>).queue_encryption).toBe('ok');
    expect(ready.admission).toMatchObject({ trust_queue_policy: true });
  });

  it('a policy that lets EventBridge send from any rule, on unencrypted queues: said once, and on /readyz', async () => {
    const { ready, checks } = await startWith(false, false);
    expect(ready.queue_security).toMatchObject({
      send_restricted: false,
      as_rules_assume: false,
      unpinned_services: ['events.amazonaws.com'],
      sse: { source: 'off', dlq: 'off' },
    });
    expect((ready.checks as Record<string, string>).queue_policy).toBe('error');
    const policy = checks.filter((c) => c.check === 'queue_policy');
    expect(policy).toHaveLength(1);
    expect(policy[0]).toMatchObject({
      level: 'error',
      msg: expect.stringContaining(
        'no statement pins events.amazonaws.com by aws:SourceArn, so messages can be forged',
      ),
    });
    expect(checks.find((c) => c.check === 'queue_encryption')).toMatchObject({
      level: 'warn',
      msg: expect.stringContaining('SOURCE_QUEUE_URL and DLQ_URL have no server-side encryption'),
    });
  });
});
