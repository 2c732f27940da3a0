/**
 * Success and heartbeat callbacks end to end (issue 25): fauxqs, stepfunctions-local behind the
 * recording proxy, the relay in process (two replicas sharing Redis for the coalescing case).
 */
import { Writable } from 'node:stream';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Service } from '../../src/service/service.js';
import { createActivityMachine, queueCounts, startExecutionsWithTokens } from '../support/emulators.js';
import { startInProcess } from '../support/inProcess.js';
import { publish } from '../support/queue.js';
import { uniquePrefix } from '../support/redis.js';
import { sumMetric } from '../support/relayProcess.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const services: Service[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

const ALL_KINDS = { CALLBACK_KINDS: 'failure,success,heartbeat' };

async function relay(name: string, extra: Record<string, string> = {}) {
  const source = await emu.sqs.createQueue(name);
  const dlq = await emu.sqs.createQueue(`${name}-dlq`);
  const lines: string[] = [];
  const logs = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // Through the recording proxy: every call is counted there.
  const service = await startInProcess(
    { ...emu, sfn: { ...emu.sfn, endpoint: emu.proxy.endpoint } },
    { source, dlq },
    { ...ALL_KINDS, LOG_LEVEL: 'info', ...extra },
    logs,
  );
  services.push(service);
  return { source, dlq, service, logs: () => lines.join('') };
}

const metrics = async (s: Service) => (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
const finished = async (s: Service, labels: Record<string, string>) =>
  sumMetric(await metrics(s), 'sfn_relay_messages_finished_total', labels);
const callsFor = (token: string, target?: string) =>
  emu.proxy.calls.filter((c) => c.token === token && (target === undefined || c.target === target));
const describe_ = (sfn: SFNClient, executionArn: string) => sfn.send(new DescribeExecutionCommand({ executionArn }));

describe('callback kinds end to end', () => {
  it('a success’s output becomes the execution’s output; a later failure for its token makes no call', async () => {
    const { source, service, logs } = await relay('kinds-success');
    const machine = await createActivityMachine(emu.sfn.client, 'kinds-success');
    const [first, second] = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    const output = JSON.stringify({ answer: 42, text: 'résumé ☃', list: [1, null, true] });
    await publish(emu.sqs.client, source, [JSON.stringify({ taskToken: first?.token, output })]);
    const done = await waitFor('the execution to succeed', async () => {
      const d = await describe_(emu.sfn.client, first?.executionArn ?? '');
      return d.status === 'SUCCEEDED' ? d : undefined;
    });
    expect(JSON.parse(done.output ?? '')).toEqual(JSON.parse(output));

    // The other kind for the same token, and a heartbeat: duplicates, no call.
    await publish(emu.sqs.client, source, [
      JSON.stringify({ taskToken: first?.token, error: 'Late', cause: 'after the success' }),
      JSON.stringify({ taskToken: first?.token, kind: 'heartbeat' }),
    ]);
    await waitFor('both late callbacks to be duplicates', async () => {
      return (await finished(service, { outcome: 'duplicate', reason: 'after_success' })) === 2;
    });
    expect(callsFor(first?.token ?? '').map((c) => c.target)).toEqual(['SendTaskSuccess']);
    expect(await finished(service, { outcome: 'duplicate', reason: 'after_success', kind: 'failure' })).toBe(1);
    expect(await finished(service, { outcome: 'duplicate', reason: 'after_success', kind: 'heartbeat' })).toBe(1);
    expect(await finished(service, { outcome: 'succeeded', kind: 'success' })).toBe(1);

    // A failure first, then a success: the failure stands, the success is never sent.
    await publish(emu.sqs.client, source, [JSON.stringify({ taskToken: second?.token, error: 'First' })]);
    await waitFor('the failure', async () => (await finished(service, { outcome: 'failed' })) === 1);
    await publish(emu.sqs.client, source, [JSON.stringify({ taskToken: second?.token, output: '{"late":true}' })]);
    await waitFor('the success to be a duplicate', async () => {
      return (await finished(service, { outcome: 'duplicate', reason: 'after_failure', kind: 'success' })) === 1;
    });
    expect(callsFor(second?.token ?? '').map((c) => c.target)).toEqual(['SendTaskFailure']);
    await waitFor('the execution to be FAILED', async () => {
      return (await describe_(emu.sfn.client, second?.executionArn ?? '')).status === 'FAILED';
    });

    // The start-up line and /readyz name the kinds; the log lines name each message's kind and
    // never carry a token or an output (info level).
    const text = logs();
    const started = text.split('\n').find((l) => l.includes('"msg":"relay started"'));
    expect(JSON.parse(started ?? '{}')).toMatchObject({ callback_kinds: ['failure', 'success', 'heartbeat'] });
    expect(text).toContain('"kind":"success"');
    for (const secret of [first?.token ?? '', second?.token ?? '', 'résumé', '"late"']) {
      expect(text).not.toContain(secret);
    }
    const ready = (await (await fetch(`http://127.0.0.1:${service.port}/readyz`)).json()) as Record<string, unknown>;
    expect(ready).toMatchObject({
      callback_kinds: ['failure', 'success', 'heartbeat'],
      heartbeat_rate_limit: 'local',
      heartbeat_breaker: 'closed',
    });
  });

  it('a success and a failure for one token in one batch: exactly one call', async () => {
    const { source, service } = await relay('kinds-race');
    const machine = await createActivityMachine(emu.sfn.client, 'kinds-race');
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 3);
    await publish(
      emu.sqs.client,
      source,
      tasks.flatMap((t) => [
        JSON.stringify({ taskToken: t.token, output: '{"ok":true}' }),
        JSON.stringify({ taskToken: t.token, error: 'E' }),
      ]),
    );
    await waitFor('every message to be finished', async () => {
      const text = await metrics(service);
      const ends = ['succeeded', 'failed', 'duplicate'].map((outcome) =>
        sumMetric(text, 'sfn_relay_messages_finished_total', { outcome }),
      );
      return ends.reduce((a, b) => a + b, 0) === 6;
    });
    for (const t of tasks) {
      const terminal = callsFor(t.token).filter((c) => c.target !== 'SendTaskHeartbeat');
      expect(terminal, 'terminal calls for one token').toHaveLength(1);
      // The emulator's history lands up to a second after the call.
      const want = terminal[0]?.target === 'SendTaskSuccess' ? 'SUCCEEDED' : 'FAILED';
      await waitFor(`the execution to be ${want}`, async () => {
        return (await describe_(emu.sfn.client, t.executionArn)).status === want;
      });
    }
    expect(await finished(service, { outcome: 'duplicate' })).toBe(3);
  });

  it('heartbeats keep a task with HeartbeatSeconds alive past that time; without them it times out', async () => {
    const HEARTBEAT_SECONDS = 4;
    const { source, service } = await relay('kinds-alive', { TASK_HEARTBEAT_MIN_INTERVAL_SECONDS: '1' });
    const machine = await createActivityMachine(emu.sfn.client, 'kinds-alive', { heartbeatSeconds: HEARTBEAT_SECONDS });
    const [kept, left] = await startExecutionsWithTokens(emu.sfn.client, machine, 2);
    const taken = Date.now();
    // A worker's heartbeats through the queue, one a second, for twice HeartbeatSeconds.
    let sent = 0;
    await waitFor(
      `the task to stay RUNNING for ${2 * HEARTBEAT_SECONDS} s on heartbeats`,
      async () => {
        await publish(emu.sqs.client, source, [JSON.stringify({ taskToken: kept?.token, kind: 'heartbeat' })]);
        sent += 1;
        expect((await describe_(emu.sfn.client, kept?.executionArn ?? '')).status).toBe('RUNNING');
        return Date.now() - taken > 2 * HEARTBEAT_SECONDS * 1000;
      },
      { intervalMs: 1000, timeoutMs: 30_000 },
    );
    // The one without heartbeats timed out meanwhile.
    const timedOut = await waitFor('the task without heartbeats to time out', async () => {
      const d = await describe_(emu.sfn.client, left?.executionArn ?? '');
      return d.status === 'RUNNING' ? undefined : d.status;
    });
    expect(timedOut).toBe('FAILED');
    expect(callsFor(kept?.token ?? '', 'SendTaskHeartbeat').length).toBeGreaterThanOrEqual(HEARTBEAT_SECONDS);
    expect(callsFor(left?.token ?? '')).toHaveLength(0);
    // The kept task is still alive: a success closes it.
    await publish(emu.sqs.client, source, [JSON.stringify({ taskToken: kept?.token, output: '"done"' })]);
    await waitFor('the kept task to succeed', async () => {
      return (await describe_(emu.sfn.client, kept?.executionArn ?? '')).status === 'SUCCEEDED';
    });
    expect(await finished(service, { outcome: 'heartbeat_sent', kind: 'heartbeat' })).toBeGreaterThanOrEqual(
      HEARTBEAT_SECONDS,
    );
    expect(sent).toBeGreaterThan(2 * HEARTBEAT_SECONDS - 2);
  });

  it('1,000 heartbeats for one token within a second, two replicas sharing Redis: at most the coalesced count of calls', async () => {
    const INTERVAL = 30;
    const shared = {
      REDIS_URL: inject('redisUrl'),
      DEDUP_KEY_PREFIX: uniquePrefix(),
      TASK_HEARTBEAT_MIN_INTERVAL_SECONDS: String(INTERVAL),
    };
    const { source, dlq, service: a } = await relay('kinds-storm', shared);
    const machine = await createActivityMachine(emu.sfn.client, 'kinds-storm');
    const [task] = await startExecutionsWithTokens(emu.sfn.client, machine, 1);
    const heartbeat = JSON.stringify({ taskToken: task?.token, kind: 'heartbeat' });
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 10 }, () =>
        publish(
          emu.sqs.client,
          source,
          Array.from({ length: 100 }, () => heartbeat),
        ),
      ),
    );
    const publishMs = Date.now() - started;
    const b = await startInProcess(
      { ...emu, sfn: { ...emu.sfn, endpoint: emu.proxy.endpoint } },
      { source, dlq },
      { ...ALL_KINDS, ...shared },
    );
    services.push(b);
    await waitFor('the 1,000 heartbeats to be consumed', () => queueCounts(emu.sqs.server, 'kinds-storm').total === 0, {
      timeoutMs: 60_000,
    });
    const elapsedS = (Date.now() - started) / 1000;
    const calls = callsFor(task?.token ?? '', 'SendTaskHeartbeat').length;
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(1 + Math.floor(elapsedS / INTERVAL));
    const sum = async (labels: Record<string, string>) => (await finished(a, labels)) + (await finished(b, labels));
    expect(await sum({ outcome: 'heartbeat_sent' })).toBe(calls);
    expect(await sum({ outcome: 'heartbeat_coalesced', kind: 'heartbeat' })).toBe(1000 - calls);
    process.stdout.write(
      `[kinds] 1,000 heartbeats published in ${publishMs} ms, consumed in ${elapsedS.toFixed(1)} s: ${calls} SendTaskHeartbeat call(s)\n`,
    );
  });
});
