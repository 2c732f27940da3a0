/**
 * The relay as it is deployed: `node dist/main.js` processes, configured only by environment.
 * Two replicas share Redis; a replica drains on SIGTERM and hands back what it could not finish.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createActivityMachine,
  executionFailure,
  queueCounts,
  startExecutionsWithTokens,
} from '../support/emulators.js';
import { publish } from '../support/queue.js';
import { cleanup, redisUrl, testRedis, uniquePrefix } from '../support/redis.js';
import { killRelays, type RelayProcess, startRelayProcess, sumMetric } from '../support/relayProcess.js';
import { shuffle } from '../support/shuffle.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();

const redis = testRedis();
const prefix = uniquePrefix();
const relays: RelayProcess[] = [];

afterAll(async () => {
  await killRelays(relays);
  await cleanup(redis, prefix);
  redis.disconnect();
});

async function expectAllFailedOnce(tasks: { executionArn: string; token: string }[], errorOf: (i: number) => string) {
  await waitFor(
    'every execution to be FAILED',
    async () => {
      const results = await Promise.all(tasks.map((t) => executionFailure(emu.sfn.client, t.executionArn)));
      return results.every((r) => r.status === 'FAILED' && r.activityFailedEvents === 1) ? results : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  for (const [i, t] of tasks.entries()) {
    const r = await executionFailure(emu.sfn.client, t.executionArn);
    expect(r.error).toBe(errorOf(i));
  }
  const successes = emu.proxy.successesByToken();
  const forwarded = emu.proxy.forwardedByToken();
  for (const t of tasks) {
    if (forwarded.get(t.token) !== 1) {
      // Explain a failure: every call the proxy saw for this token.
      const calls = emu.proxy.calls.filter((c) => c.token === t.token).map((c) => ({ status: c.status, at: c.at }));
      process.stdout.write(`calls for one token: ${JSON.stringify(calls)}\n`);
    }
    expect(successes.get(t.token), 'successful SendTaskFailure calls for a task').toBe(1);
    // Dedup held: not even a second call (which the patched emulator would answer TaskTimedOut).
    expect(forwarded.get(t.token), 'SendTaskFailure calls for a task').toBe(1);
  }
}

describe('relay processes', () => {
  it('two replicas sharing Redis fail no token twice', async () => {
    const name = `replicas-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    const dlq = await emu.sqs.createQueue(`${name}-dlq`);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 60);
    // Three copies of every event, shuffled, so copies meet in different replicas at once.
    const bodies = shuffle(
      tasks.flatMap((t, i) => Array.from({ length: 3 }, () => JSON.stringify({ taskToken: t.token, error: `E${i}` }))),
    );
    const env = {
      SOURCE_QUEUE_URL: source,
      DLQ_URL: dlq,
      AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
      REDIS_URL: redisUrl(),
      DEDUP_KEY_PREFIX: prefix,
      POLLERS: '3',
      WAIT_TIME_SECONDS: '1',
      RETRY_BASE_DELAY_SECONDS: '1',
      // A slow emulator on a loaded machine must not time out a call that then succeeds twice:
      // this test is about dedup, and counts every call.
      SFN_REQUEST_TIMEOUT_MS: '30000',
    };
    const [a, b] = await Promise.all([startRelayProcess(env), startRelayProcess(env)]);
    relays.push(a, b);
    // Published once both poll, so both take part whichever starts first.
    await publish(emu.sqs.client, source, bodies);

    await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, name).total === 0, {
      timeoutMs: 60_000,
    });
    await expectAllFailedOnce(tasks, (i) => `E${i}`);

    const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
    const total = (outcome: string) =>
      sumMetric(ma, 'sfn_relay_messages_finished_total', { outcome }) +
      sumMetric(mb, 'sfn_relay_messages_finished_total', { outcome });
    expect(total('failed')).toBe(60);
    expect(total('duplicate')).toBe(120);
    expect(total('dead_lettered')).toBe(0);
    // Both replicas did work, and both used Redis.
    expect(sumMetric(ma, 'sfn_relay_messages_received_total')).toBeGreaterThan(0);
    expect(sumMetric(mb, 'sfn_relay_messages_received_total')).toBeGreaterThan(0);
    expect(sumMetric(ma, 'sfn_relay_dedup_store', { store: 'redis' })).toBe(1);

    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    for (const t of tasks) {
      expect(a.output()).not.toContain(t.token);
      expect(b.output()).not.toContain(t.token);
    }
  });

  it('drains on SIGTERM: readiness drops, calls in flight finish, the rest is handed back and not lost', async () => {
    const name = `drain-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    const dlq = await emu.sqs.createQueue(`${name}-dlq`);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 40);
    await publish(
      emu.sqs.client,
      source,
      tasks.map((t, i) => JSON.stringify({ taskToken: t.token, error: `D${i}` })),
    );
    // Calls take 1.5 s and the limiter lets 5 per second through: at SIGTERM some calls are on
    // the wire and most messages wait in the limiter.
    emu.proxy.setFault((call) => (call.target === 'SendTaskFailure' ? { kind: 'delay', ms: 1500 } : undefined));
    const common = {
      SOURCE_QUEUE_URL: source,
      DLQ_URL: dlq,
      AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
      WAIT_TIME_SECONDS: '20',
      POLLERS: '4',
    };
    const first = await startRelayProcess({ ...common, SFN_RATE_LIMIT_PER_SECOND: '5', DRAIN_TIMEOUT_SECONDS: '1' });
    relays.push(first);
    await waitFor('calls to be in flight', () => emu.proxy.calls.filter((c) => c.fault === 'delay').length >= 5);

    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    await waitFor('readiness to drop', async () => (await first.status('/readyz')) === 503, { timeoutMs: 2000 });
    expect(await first.exited).toBe(0);
    // Not waiting out the 20 s long poll: drain deadline (1 s) + the call on the wire (1.5 s) + slack.
    expect(Date.now() - signalledAt).toBeLessThan(6000);
    expect(first.output()).toContain('drain deadline reached');
    const handedBack = queueCounts(emu.sqs.server, name);
    expect(handedBack.ready).toBeGreaterThan(0);
    expect(handedBack.inflight).toBe(0);

    emu.proxy.setFault(undefined);
    const second = await startRelayProcess(common);
    relays.push(second);
    await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, name).total === 0, {
      timeoutMs: 60_000,
    });
    await expectAllFailedOnce(tasks, (i) => `D${i}`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
