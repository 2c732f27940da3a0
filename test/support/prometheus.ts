/** A real Prometheus of the test's own (Debian's `prometheus`): scrapes the given targets every second and evaluates rules. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { requireBinary } from './binaries.js';
import { freePort, waitFor } from './wait.js';

export interface PrometheusHandle {
  url: string;
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[], rules: object): Promise<PrometheusHandle> {
  requireBinary('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'relay-prometheus-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: [{ job_name: 'sfn-failure-relay', static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus to be ready', async () => (await fetch(`${url}/-/ready`)).status === 200, {
    timeoutMs: 30_000,
  });
  const handle: PrometheusHandle = {
    url,
    async query(expr) {
      const res = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
        status: string;
        error?: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (res.status !== 'success') throw new Error(`query failed: ${res.error} (${expr})`);
      return res.data.result;
    },
    async alerts() {
      const res = (await (await fetch(`${url}/api/v1/alerts`)).json()) as {
        data: { alerts: { labels: Record<string, string>; state: string }[] };
      };
      return res.data.alerts;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // A counter's first sample is its baseline: wait until every target has been scraped once, so
  // what the test does next shows up as an increase.
  await waitFor(
    'prometheus to scrape every target',
    async () => (await handle.query('up == 1')).length === targets.length,
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  return handle;
}
