/** `npm run bench -- --quick` as a smoke test, so the harness cannot rot. Figures are not judged here. */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leftoverProcesses, processGroup, processKeys, RUN_MARKER } from '../support/leftovers.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RESULTS = join(ROOT, 'bench/results');

function bench(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

const digest = (path: string) =>
  existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : '';

describe('bench --quick', () => {
  it('runs every variant and writes its results beside, never over, the committed full run', async () => {
    const committed = [digest(join(RESULTS, 'latest.json')), digest(join(RESULTS, 'latest.svg'))];
    const { code, stderr } = await bench(['--quick']);
    expect(code, stderr).toBe(0);
    expect([digest(join(RESULTS, 'latest.json')), digest(join(RESULTS, 'latest.svg'))]).toEqual(committed);
    const out = join(RESULTS, 'quick');
    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      summary: {
        variant: string;
        eventsPerSecond: number;
        sqsRequestsPerEvent: number;
        sendTaskFailureCallsPerUniqueToken: number;
      }[];
      latency: { samples: number };
    };
    const names = result.summary.map((s) => s.variant);
    expect(names).toEqual(expect.arrayContaining(['naive', 'ceiling', 'relay (memory, 20% dup)']));
    for (const s of result.summary) expect(s.eventsPerSecond, s.variant).toBeGreaterThan(0);
    // Counted at the endpoints: the relay calls Step Functions once per unique token, duplicates or not.
    expect(
      result.summary.find((s) => s.variant === 'relay (memory, 20% dup)')?.sendTaskFailureCallsPerUniqueToken,
    ).toBe(1);
    // The success rows (once the relay relays successes): one SendTaskSuccess per token, nothing else.
    for (const s of result.summary.filter((x) => x.variant.startsWith('relay success'))) {
      expect(s.sendTaskFailureCallsPerUniqueToken, s.variant).toBe(1);
    }
    expect(result.latency.samples).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toContain('<svg');
  }, 180_000);

  it('fails within seconds, naming it, when the relay under test dies, and stops everything it started', async () => {
    const started = Date.now();
    // What the bench starts: in this worker's process group, and carrying a marker of this bench's own.
    const scope = { marker: randomUUID(), pgid: processGroup(), rootPid: -1, before: processKeys() };
    const { code, stderr } = await bench(['--quick', '--only', 'relay (memory, 0%'], {
      BENCH_RELAY_NODE_FLAGS: '--no-such-node-flag',
      [RUN_MARKER]: scope.marker,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /bench failed: the relay \(relay \(memory, 0% dup\)\) exited \(code 9\) before the run ended/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    // Its children were stopped before it exited; a moment for the kernel to reap them.
    await waitFor('the bench’s processes to end', () => leftoverProcesses(scope).length === 0, {
      timeoutMs: 2000,
    }).catch(() => undefined);
    expect(leftoverProcesses(scope).map((p) => p.command)).toEqual([]);
  }, 60_000);
});
