/**
 * The shipped alert rules and dashboard against a real Prometheus, scraping two relay processes
 * through a short chaos run (an outage that opens the breaker, then throttling; poison; unknown
 * tokens; a DLQ that refuses the largest poison): afterwards the alerts the run causes are firing
 * or pending, and every dashboard panel's query returns data. The rules are the chart's, with
 * every `for:` set to 5 s (prometheusRule.forOverride), not different rules.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createActivityMachine, queueCounts, startExecutionsWithTokens } from '../support/emulators.js';
import { CHART } from '../support/helm.js';
import { type PrometheusHandle, startPrometheus } from '../support/prometheus.js';
import { publish } from '../support/queue.js';
import { killRelays, type RelayProcess, startRelayProcess } from '../support/relayProcess.js';
import { renderedRules } from '../support/rules.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const relays: RelayProcess[] = [];
let prometheus: PrometheusHandle | undefined;

afterAll(async () => {
  await killRelays(relays);
  await prometheus?.stop();
});

interface Panel {
  title: string;
  targets: { expr: string }[];
}

/** The dashboard's queries with its variables as Grafana fills them: all namespaces and instances. */
function panelQueries(): { title: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(CHART, 'files/dashboard.json'), 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) =>
    p.targets.map((t) => ({
      title: p.title,
      expr: t.expr.replaceAll('$namespace', '.*').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m'),
    })),
  );
}

describe('alerts and dashboard on a real Prometheus', () => {
  it('the run fires the alerts it should, and every dashboard panel has data', async () => {
    const started = Date.now();
    const name = `prom-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    // A DLQ smaller than the largest poison: its sends are refused.
    const dlq = await emu.sqs.createQueue(`${name}-dlq`, { MaximumMessageSize: '1024' });
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 30);
    let phase: 'outage' | 'throttling' = 'outage';
    emu.proxy.setFault((call) => {
      if (call.target !== 'SendTaskFailure') return undefined;
      if (phase === 'outage') return { kind: 'status', status: 503 };
      return Math.random() < 0.3 ? { kind: 'throttle' } : undefined;
    });
    const env = {
      SOURCE_QUEUE_URL: source,
      DLQ_URL: dlq,
      AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
      REDIS_URL: inject('redisUrl'),
      DEDUP_KEY_PREFIX: `${name}:`,
      WAIT_TIME_SECONDS: '1',
      RETRY_BASE_DELAY_SECONDS: '1',
      RETRY_MAX_DELAY_SECONDS: '2',
      SFN_MAX_ATTEMPTS: '1',
      BREAKER_THRESHOLD: '3',
      BREAKER_HALF_OPEN_AFTER_MS: '2000',
      SFN_RATE_LIMIT_PER_SECOND: '20',
    };
    const [a, b] = await Promise.all([startRelayProcess(env), startRelayProcess(env)]);
    relays.push(a, b);
    prometheus = await startPrometheus([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], renderedRules('5s'));

    await publish(emu.sqs.client, source, [
      ...tasks.map((t, i) => JSON.stringify({ taskToken: t.token, error: `P${i}` })),
      ...Array.from({ length: 10 }, (_, i) => `poison ${i}`),
      ...Array.from({ length: 2 }, (_, i) => `too large for the DLQ ${i} ${'x'.repeat(2000)}`),
      ...Array.from({ length: 40 }, (_, i) =>
        JSON.stringify({ taskToken: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }),
      ),
    ]);
    const p = prometheus;
    await waitFor(
      'the circuit to open',
      async () => (await p.query('max(sfn_relay_circuit_breaker_state{state="open"}) == 1')).length > 0,
      {
        timeoutMs: 30_000,
      },
    );
    // The outage lasts until the open circuit has been seen for longer than the rules' `for:`.
    await waitFor(
      'the CircuitOpen alert',
      async () => (await p.alerts()).some((x) => x.labels.alertname === 'SfnRelayCircuitOpen' && x.state === 'firing'),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    phase = 'throttling';
    await waitFor(
      'every task failed and only the refused poison left',
      () => queueCounts(emu.sqs.server, name).total <= 2,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );

    // The circuit fired above and has closed since; these stay active after the run.
    const expected = [
      'SfnRelayPoisonDeadLettered',
      'SfnRelayTokensRefused',
      'SfnRelayDlqRefusing',
      'SfnRelaySendErrors',
    ];
    const seen = await waitFor(
      `the alerts the run causes (${expected.join(', ')})`,
      async () => {
        const alerts = await p.alerts();
        const names = new Set(
          alerts.filter((x) => x.state === 'firing' || x.state === 'pending').map((x) => x.labels.alertname),
        );
        if (!expected.every((n) => names.has(n))) {
          const finished = await p.query('sum by (outcome, reason) (sfn_relay_messages_finished_total) > 0');
          const counts = finished.map((r) => `${r.metric.outcome}/${r.metric.reason}=${r.value[1]}`);
          throw new Error(`active: ${[...names].join(', ')}; finished: ${counts.join(', ')}`);
        }
        return alerts;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // And not the ones it should not: Redis answered all along, receives kept answering.
    const active = new Set(seen.map((x) => x.labels.alertname));
    active.add('SfnRelayCircuitOpen');
    for (const quiet of [
      'SfnRelayDedupDegraded',
      'SfnRelayRateLimitLocal',
      'SfnRelayRedisErrors',
      'SfnRelayNotReceiving',
      'SfnRelayUnauthorized',
    ]) {
      expect(active.has(quiet), quiet).toBe(false);
    }

    const table: string[] = [];
    for (const q of panelQueries()) {
      const result = await p.query(q.expr);
      expect(result.length, `${q.title}: ${q.expr}`).toBeGreaterThan(0);
      table.push(`${q.title} → ${result.length} series, e.g. ${result[0]?.value[1]}`);
    }
    process.stdout.write(
      `\nprometheus: alerts ${[...active].sort().join(', ')}; ${table.length} dashboard queries with data in ${((Date.now() - started) / 1000).toFixed(0)} s\n${table.join('\n')}\n`,
    );
    emu.proxy.setFault(undefined);
    for (const r of [a, b]) {
      r.child.kill('SIGTERM');
      expect(await r.exited).toBe(0);
    }
  });
});
