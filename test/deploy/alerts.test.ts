/**
 * The chart's alert rules, rendered by the real helm and unit-tested by the real promtool: every
 * alert has a series that fires it and one that must not. The runbook lines are checked against
 * the alert table in docs/alerts.md.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { requireBinary } from '../support/binaries.js';
import { renderedRules } from '../support/rules.js';
import { tempDir } from '../support/tempDir.js';

interface Case {
  alert: string;
  /** Series that fire the alert at 30m, and the summary (and extra labels) it then carries. */
  fires: Record<string, string>;
  summary: string;
  labels?: Record<string, string>;
  /** Series that look alike but must not fire it. */
  quiet: Record<string, string>;
}

const bucket = (le: string, values: string, outcome = 'failed') => ({
  [`sfn_relay_event_lag_seconds_bucket{outcome="${outcome}",le="${le}"}`]: values,
});

const CASES: Case[] = [
  {
    alert: 'SfnRelayLagging',
    // Successes late, failures on time: the terminal callbacks' p95 is late.
    fires: {
      ...bucket('60', '0x40', 'succeeded'),
      ...bucket('300', '0+60x40', 'succeeded'),
      ...bucket('+Inf', '0+60x40', 'succeeded'),
      ...bucket('1', '0+20x40'),
      ...bucket('60', '0+20x40'),
      ...bucket('300', '0+20x40'),
      ...bucket('+Inf', '0+20x40'),
    },
    summary: 'Task failures and successes reach Step Functions 4m 44s after they were published (p95)',
    quiet: {
      ...bucket('1', '0+60x40'),
      ...bucket('60', '0+60x40'),
      ...bucket('300', '0+60x40'),
      ...bucket('+Inf', '0+60x40'),
    },
  },
  {
    alert: 'SfnRelayNotReceiving',
    fires: {
      'sfn_relay_last_receive_timestamp_seconds{instance="a"}': '0x40',
      'sfn_relay_circuit_breaker_state{state="open",instance="a"}': '0x40',
    },
    summary: 'No receive from the source queue has answered for 30m 0s while the relay runs',
    quiet: {
      // Receives answer every minute; or none answered, but on purpose: the circuit is open.
      'sfn_relay_last_receive_timestamp_seconds{instance="a"}': '0+60x40',
      'sfn_relay_last_receive_timestamp_seconds{instance="b"}': '0x40',
      'sfn_relay_circuit_breaker_state{state="open",instance="b"}': '1x40',
    },
  },
  {
    alert: 'SfnRelayPoisonDeadLettered',
    fires: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="body_not_json"}': '0+6x40' },
    summary: 'Invalid failure events reach the DLQ (body_not_json)',
    labels: { reason: 'body_not_json' },
    quiet: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="sender_not_allowed"}': '0+6x40' },
  },
  {
    alert: 'SfnRelaySenderRefused',
    // One refused message, once, is enough.
    fires: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="sender_not_allowed"}': '0x25 1x15' },
    summary: 'Someone not on the allowlist tried to fail tasks (sender_not_allowed)',
    labels: { reason: 'sender_not_allowed' },
    quiet: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="body_not_json"}': '0+6x40' },
  },
  {
    alert: 'SfnRelayRetriesExhausted',
    fires: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="retries_exhausted"}': '0+1x40' },
    summary: 'Failure events are dead-lettered after MAX_RECEIVES failures of their own',
    quiet: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="retries_exhausted"}': '5x40' },
  },
  {
    alert: 'SfnRelayTokensRefused',
    fires: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="sfn_invalid_token"}': '0+6x40' },
    summary: 'Step Functions refused 60 tokens or requests in 10 minutes',
    // One every four minutes: 2.5 in ten minutes, under the default 5.
    quiet: { 'sfn_relay_messages_finished_total{outcome="dead_lettered",reason="sfn_invalid_token"}': '0+0.25x40' },
  },
  {
    alert: 'SfnRelayDlqRefusing',
    fires: { 'sfn_relay_messages_finished_total{outcome="dlq_send_failed",reason="InvalidParameterValue"}': '0+1x40' },
    summary: 'The DLQ refuses sends (InvalidParameterValue): poison stays in the source queue',
    labels: { reason: 'InvalidParameterValue' },
    quiet: { 'sfn_relay_messages_finished_total{outcome="dlq_send_failed",reason="InvalidParameterValue"}': '3x40' },
  },
  {
    alert: 'SfnRelayCircuitOpen',
    fires: { 'sfn_relay_circuit_breaker_state{state="open"}': '1x40' },
    summary: 'The circuit breaker around SendTaskFailure has been open: intake is paused',
    quiet: {
      'sfn_relay_circuit_breaker_state{state="open"}': '0x40',
      'sfn_relay_circuit_breaker_state{state="closed"}': '1x40',
    },
  },
  {
    alert: 'SfnRelayUnauthorized',
    // Success enabled without states:SendTaskSuccess: the alert names the kind whose action is missing.
    fires: {
      'sfn_relay_messages_finished_total{outcome="retry_later",reason="unauthorized",kind="success"}': '0+1x40',
      'sfn_relay_messages_finished_total{outcome="failed",reason="",kind="failure"}': '0+60x40',
    },
    summary: 'Step Functions refuses the success callbacks for credentials or permissions',
    labels: { kind: 'success' },
    quiet: { 'sfn_relay_messages_finished_total{outcome="retry_later",reason="throttled"}': '0+60x40' },
  },
  {
    alert: 'SfnRelaySendErrors',
    // Half the failures fail; a flood of heartbeats that go through must not hide it.
    fires: {
      'sfn_relay_send_task_failure_calls_total{result="ThrottlingException",kind="failure"}': '0+60x40',
      'sfn_relay_send_task_failure_calls_total{result="ok",kind="failure"}': '0+60x40',
      'sfn_relay_send_task_failure_calls_total{result="ok",kind="heartbeat"}': '0+6000x40',
    },
    summary: '50% of the failure calls to Step Functions fail after their retries',
    labels: { kind: 'failure' },
    quiet: {
      // Tasks found closed are not errors of the relay's.
      'sfn_relay_send_task_failure_calls_total{result="TaskTimedOut"}': '0+60x40',
      'sfn_relay_send_task_failure_calls_total{result="ok"}': '0+60x40',
    },
  },
  {
    alert: 'SfnRelayRateLimitLocal',
    fires: { 'sfn_relay_rate_limiter_mode{mode="local"}': '1x40', sfn_relay_redis_configured: '1x40' },
    summary: "The shared rate limit runs in each process: replicas together may exceed the account's quota",
    // Without Redis the limit is per process by design.
    quiet: { 'sfn_relay_rate_limiter_mode{mode="local"}': '1x40', sfn_relay_redis_configured: '0x40' },
  },
  {
    alert: 'SfnRelayDedupDegraded',
    fires: { 'sfn_relay_dedup_store{store="memory"}': '1x40', sfn_relay_redis_configured: '1x40' },
    summary: 'Deduplication runs in process: a copy seen by another replica may be sent twice (answered TaskTimedOut)',
    quiet: { 'sfn_relay_dedup_store{store="memory"}': '1x40', sfn_relay_redis_configured: '0x40' },
  },
  {
    alert: 'SfnRelayRedisErrors',
    fires: { 'sfn_relay_redis_command_errors_total{code="CROSSSLOT",where="dedup"}': '0+1x40' },
    summary: "Redis refuses the relay's commands (CROSSSLOT)",
    labels: { code: 'CROSSSLOT' },
    quiet: { 'sfn_relay_redis_command_errors_total{code="CROSSSLOT",where="dedup"}': '2x40' },
  },
  {
    alert: 'SfnRelayTelemetryExportFailing',
    fires: { sfn_relay_telemetry_export_failures_total: '0+1x40' },
    summary: 'Traces cannot be exported; spans are dropped',
    quiet: { sfn_relay_telemetry_export_failures_total: '7x40' },
  },
];

const series = (s: Record<string, string>) => Object.entries(s).map(([name, values]) => ({ series: name, values }));

describe('alert rules', () => {
  requireBinary('promtool');
  const rules = renderedRules();
  const all = rules.groups.flatMap((g) => g.rules);

  it('pass promtool check rules, and each has a severity, a summary and a runbook line', () => {
    const dir = tempDir('relay-rules-');
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
    const r = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${all.length} rules found`);
    for (const rule of all) {
      expect(rule.labels.severity, rule.alert).toMatch(/^(critical|warning|info)$/);
      expect(rule.annotations.runbook.length, rule.alert).toBeGreaterThan(40);
    }
  });

  it('every alert fires on its failure and stays quiet on what only looks like it (promtool test rules)', () => {
    expect(CASES.map((c) => c.alert).sort()).toEqual(all.map((r) => r.alert).sort());
    const dir = tempDir('relay-rules-');
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
    const byName = new Map(all.map((r) => [r.alert, r]));
    const tests = CASES.flatMap((c) => {
      const rule = byName.get(c.alert);
      const expected = {
        exp_labels: { severity: rule?.labels.severity, ...c.labels },
        exp_annotations: { summary: c.summary, runbook: rule?.annotations.runbook },
      };
      return [
        {
          interval: '1m',
          input_series: series(c.fires),
          alert_rule_test: [{ eval_time: '30m', alertname: c.alert, exp_alerts: [expected] }],
        },
        {
          interval: '1m',
          input_series: series(c.quiet),
          alert_rule_test: [{ eval_time: '30m', alertname: c.alert, exp_alerts: [] }],
        },
      ];
    });
    writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const r = spawnSync('promtool', ['test', 'rules', join(dir, 'tests.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('are docs/alerts.md’s alert table: same names, expressions and runbooks', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../docs/alerts.md'), 'utf8');
    const cell = (text: string) => text.replace(/\|/g, '\\|');
    for (const rule of all) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${rule.alert}\` |`));
      expect(row, rule.alert).toBeDefined();
      expect(row).toContain(`\`${cell(rule.expr)}\``);
      expect(row).toContain(cell(rule.annotations.runbook));
    }
  });
});
