/**
 * Outages without side effects: a DLQ that refuses sends is its own outcome (never "dead-lettered",
 * nothing lost, backing off), and a SIGTERM while Step Functions and the trace collector both hang
 * still exits 0 within the grace period, losing nothing.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import { loadConfig } from '../../src/service/config.js';
import { shutdownBudgetSeconds } from '../../src/service/shutdown.js';
import {
  createActivityMachine,
  queueCounts,
  startExecutionsWithTokens,
  waitForFailedOnce,
} from '../support/emulators.js';
import { drainQueue, publish } from '../support/queue.js';
import { killRelays, type RelayProcess, startRelayProcess, sumMetric } from '../support/relayProcess.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const relays: RelayProcess[] = [];

afterAll(async () => {
  await killRelays(relays);
});

interface Finished {
  outcome: string;
  reason?: string;
  delay_seconds?: number;
  error_name?: string;
  error_message?: string;
  level: string;
}

function finishedLines(r: RelayProcess): Finished[] {
  return r
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"message finished"'))
    .map((l) => JSON.parse(l) as Finished);
}

function relayEnv(source: string, dlq: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SOURCE_QUEUE_URL: source,
    DLQ_URL: dlq,
    AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
    AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
    WAIT_TIME_SECONDS: '1',
    ...extra,
  };
}

describe('a DLQ that refuses sends', () => {
  it('keeps the message in the source queue with growing delays as dlq_send_failed, and dead-letters it once the DLQ takes it', async () => {
    const name = `refuse-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    // A DLQ smaller than the source: poison larger than 1 KiB cannot go there.
    const dlq = await emu.sqs.createQueue(`${name}-dlq`, { MaximumMessageSize: '1024' });
    const relay = await startRelayProcess(
      relayEnv(source, dlq, { RETRY_BASE_DELAY_SECONDS: '1', RETRY_MAX_DELAY_SECONDS: '8', MAX_RECEIVES: '2' }),
    );
    relays.push(relay);
    // The start-up check says so, with the numbers.
    expect(relay.output()).toMatch(
      /"check":"dlq_size".*DLQ_URL takes messages up to 1024 bytes, SOURCE_QUEUE_URL up to 1048576/,
    );

    const poison = `not json ${'x'.repeat(1500)}`;
    await publish(emu.sqs.client, source, [poison]);
    const refusals = () => finishedLines(relay).filter((l) => l.outcome === 'dlq_send_failed');
    await waitFor('three refusals', () => refusals().length >= 3, { timeoutMs: 30_000 });
    // SQS's own answer: its error code as the metric reason, its message in the log line.
    expect(refusals()[0]).toMatchObject({
      level: 'error',
      reason: 'InvalidParameterValue',
      error_name: 'InvalidParameterValue',
    });
    expect(refusals()[0]?.error_message).toMatch(/shorter than 1024 bytes/);
    // Backing off like other hand-backs: the delay grows with the receive count.
    const delays = refusals().map((l) => l.delay_seconds ?? 0);
    expect(delays[2]).toBeGreaterThan(delays[0] ?? 0);

    const metrics = await relay.metrics();
    const finished = (outcome: string) => sumMetric(metrics, 'sfn_relay_messages_finished_total', { outcome });
    expect(finished('dlq_send_failed')).toBeGreaterThanOrEqual(3);
    expect(finished('dead_lettered')).toBe(0);
    expect(sumMetric(metrics, 'sfn_relay_sqs_errors_total', { operation: 'dlq_send' })).toBeGreaterThanOrEqual(3);
    const ready = (await (await fetch(`http://127.0.0.1:${relay.port}/readyz`)).json()) as Record<string, unknown>;
    expect(ready.dlq_refused).toBeGreaterThanOrEqual(3);
    expect(ready.dlq_last_refusal).toMatchObject({ code: 'InvalidParameterValue' });
    expect((ready.checks as Record<string, string>).dlq_size).toBe('warn');
    // Nothing lost: the poison is still in the source queue, nothing in the DLQ.
    expect(queueCounts(emu.sqs.server, name).total).toBe(1);
    expect(queueCounts(emu.sqs.server, `${name}-dlq`).total).toBe(0);

    // The operator raises the DLQ's limit: a later receive dead-letters it, with its reason, no restart.
    await emu.sqs.client.send(
      new SetQueueAttributesCommand({ QueueUrl: dlq, Attributes: { MaximumMessageSize: '1048576' } }),
    );
    await waitFor('the DLQ to hold it', () => queueCounts(emu.sqs.server, `${name}-dlq`).total === 1, {
      timeoutMs: 30_000,
    });
    await waitFor('the source to empty', () => queueCounts(emu.sqs.server, name).total === 0);
    const [inDlq] = await drainQueue(emu.sqs.client, dlq);
    expect(inDlq?.Body).toBe(poison);
    expect(readDeadLetterInfo(inDlq ?? {})?.reason).toBe('body_not_json');
    expect(finishedLines(relay).filter((l) => l.outcome === 'dead_lettered')).toHaveLength(1);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
  });
});

describe('readiness and start-up', () => {
  it('is not ready until the source queue answers, and says once, clearly, that there are no credentials', async () => {
    const missing = await startRelayProcess(
      relayEnv(`${emu.sqs.endpoint}/000000000000/no-such-queue`, 'http://q/1/dlq'),
    );
    relays.push(missing);
    expect(await missing.status('/readyz')).toBe(503);
    const detail = (await (await fetch(`http://127.0.0.1:${missing.port}/readyz`)).json()) as {
      checks: Record<string, string>;
    };
    expect(detail.checks.source_queue).toBe('error');
    expect(missing.output()).toMatch(/"level":"error".*"check":"source_queue".*SOURCE_QUEUE_URL did not answer/);
    missing.child.kill('SIGTERM');
    await missing.exited;

    const q = { source: await emu.sqs.createQueue(`nocreds-${randomUUID().slice(0, 8)}`), dlq: 'http://q/1/dlq' };
    const noCredentials = await startRelayProcess({
      ...relayEnv(q.source, q.dlq),
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    });
    relays.push(noCredentials);
    await waitFor(
      'a few receives to fail',
      async () => sumMetric(await noCredentials.metrics(), 'sfn_relay_sqs_errors_total', { operation: 'receive' }) >= 3,
      {
        timeoutMs: 20_000,
      },
    );
    const lines = noCredentials.output().split('\n');
    expect(lines.filter((l) => l.includes('"check":"credentials"'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('"check":"credentials"'))).toMatch(
      /no usable AWS credentials .*AWS_ACCESS_KEY_ID/,
    );
    // Said once, not on every failed receive.
    expect(lines.filter((l) => l.includes('"msg":"receive failed"'))).toHaveLength(1);
    expect(await noCredentials.status('/readyz')).toBe(503);
    noCredentials.child.kill('SIGTERM');
    expect(await noCredentials.exited).toBe(0);
  });
});

describe('shutdown', () => {
  it('exits 0 within the computed grace period while Step Functions and the trace collector both hang, and loses nothing', async () => {
    const name = `hang-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    const dlq = await emu.sqs.createQueue(`${name}-dlq`);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 30);
    await publish(
      emu.sqs.client,
      source,
      tasks.map((t, i) => JSON.stringify({ taskToken: t.token, error: `H${i}` })),
    );
    // A collector that takes every export and never answers.
    const held: import('node:http').ServerResponse[] = [];
    const collector: Server = createServer((_req, res) => held.push(res));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    emu.proxy.setFault((call) => (call.target === 'SendTaskFailure' ? { kind: 'hang' } : undefined));

    const env = relayEnv(source, dlq, {
      WAIT_TIME_SECONDS: '20',
      // A receive cut off by the shutdown may have taken messages: they reappear after this.
      VISIBILITY_TIMEOUT_SECONDS: '5',
      HEARTBEAT_INTERVAL_SECONDS: '2',
      DRAIN_TIMEOUT_SECONDS: '2',
      SFN_REQUEST_TIMEOUT_MS: '1500',
      SFN_MAX_ATTEMPTS: '2',
      BREAKER_THRESHOLD: '1000',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const budget = shutdownBudgetSeconds(loadConfig(env));
    const relay = await startRelayProcess(env);
    relays.push(relay);
    await waitFor('calls hanging', () => emu.proxy.calls.filter((c) => c.fault === 'hang').length >= 5);
    await waitFor('an export hanging', () => held.length >= 1, { timeoutMs: 10_000 });

    const signalledAt = Date.now();
    relay.child.kill('SIGTERM');
    const code = await relay.exited;
    const took = (Date.now() - signalledAt) / 1000;
    process.stdout.write(
      `\nshutdown with a hanging Step Functions and collector: ${took.toFixed(1)} s, budget ${budget} s\n`,
    );
    expect(code, relay.output().slice(-2000)).toBe(0);
    expect(took).toBeLessThan(budget);
    // Nothing lost: every message is still in the source queue (handed back or reappearing).
    expect(queueCounts(emu.sqs.server, name).total).toBe(tasks.length);

    emu.proxy.setFault(undefined);
    for (const res of held) res.destroy();
    collector.closeAllConnections();
    collector.close();
    const next = await startRelayProcess(relayEnv(source, dlq, { RETRY_BASE_DELAY_SECONDS: '1' }));
    relays.push(next);
    await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, name).total === 0, {
      timeoutMs: 60_000,
    });
    await waitForFailedOnce(emu.sfn.client, tasks);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });
});
