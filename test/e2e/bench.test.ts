/** `npm run bench -- --quick` as a smoke test, so the harness cannot rot. Figures are not judged here. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('bench --quick', () => {
  it('runs every variant and writes the results', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sfn-relay-bench-'));
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
      });
      child.on('exit', resolve);
    });
    expect(code, stderr).toBe(0);
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
    expect(result.latency.samples).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'latest.svg'), 'utf8')).toContain('<svg');
  }, 180_000);
});
