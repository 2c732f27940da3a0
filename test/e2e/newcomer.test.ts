/**
 * What a newcomer does with the README in hand: `npm run demo`; `npm run emulators` in one terminal
 * (and by mistake in another), the relay in a second, `sfn-relay send-task-failure` in a third; and
 * the CLI started with an older system Node.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { collectOutput } from '../support/cli.js';
import { killRelays, type RelayProcess, startRelayProcess } from '../support/relayProcess.js';
import { freePort, waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const children: ChildProcess[] = [];
const relays: RelayProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await killRelays(relays);
});

/** A script run to its end, as `npm run <script>` runs it. */
function script(
  file: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, ...env } });
    children.push(child);
    const output = collectOutput(child);
    child.once('exit', (code) => resolve({ code, out: output.stdout, err: output.stderr }));
  });
}

describe('npm run demo', () => {
  it('shows the outcomes that happened, and only those', async () => {
    const { code, out, err } = await script('scripts/demo.ts');
    expect(code, err).toBe(0);
    const section = out.split('Messages by outcome\n')[1]?.split('\n\n')[0] ?? '';
    const rows = section.split('\n').map((l) => l.trim());
    // Eleven events: five tasks failed, three duplicates, three dead-lettered with their reasons.
    expect(rows).toEqual([
      '1  dead_lettered (body_not_json)',
      '1  dead_lettered (sfn_task_does_not_exist)',
      '1  dead_lettered (token_invalid_character)',
      '3  duplicate (after_failure)',
      '5  failed',
    ]);
  });
});

describe('the emulator recipe', () => {
  it('emulators in one terminal, the relay in another, the CLI in a third: the execution fails', async () => {
    const [sqsPort, sfnPort] = [await freePort(), await freePort()];
    const emulators = spawn(process.execPath, ['--import', 'tsx', 'scripts/emulators.ts', '--executions', '2'], {
      cwd: ROOT,
      env: { ...process.env, EMULATOR_SQS_PORT: String(sqsPort), EMULATOR_SFN_PORT: String(sfnPort) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(emulators);
    let out = '';
    emulators.stdout?.on('data', (d: Buffer) => {
      out += d;
    });
    await waitFor('the emulators to print the environment', () => out.includes('Watching the executions'), {
      timeoutMs: 60_000,
    });
    // The environment exactly as printed, as a user would paste it.
    const env: Record<string, string> = {};
    for (const line of out.split('\n').filter((l) => l.startsWith('export '))) {
      for (const pair of line.slice('export '.length).split(' ')) {
        const [k, ...v] = pair.split('=');
        if (k !== undefined) env[k] = v.join('=');
      }
    }
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['SOURCE_QUEUE_URL', 'DLQ_URL', 'AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SFN']),
    );
    // No collector in this recipe: tracing on would warn that every export fails.
    expect(env.OTEL_TRACES_EXPORTER).toBe('none');

    // Started again by mistake: one line that says so and names the variables, nothing half-started.
    const ports = { EMULATOR_SQS_PORT: String(sqsPort), EMULATOR_SFN_PORT: String(sfnPort) };
    const second = await script('scripts/emulators.ts', ports);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(
      /^emulators: port \d+ \(SQS, EMULATOR_SQS_PORT\) and port \d+ \(Step Functions, EMULATOR_SFN_PORT\) already in use: are the emulators already running/,
    );
    expect(second.err.trim().split('\n')).toHaveLength(1);
    const token = /^token (\S+)/m.exec(out)?.[1] ?? '';

    relays.push(await startRelayProcess({ ...env, WAIT_TIME_SECONDS: '1' }));
    const sent = spawnSync(
      process.execPath,
      [CLI, 'send-task-failure', '--task-token', token, '--error', 'Demo', '--cause', 'from the CLI'],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      },
    );
    expect(sent.status, sent.stderr).toBe(0);
    await waitFor(
      'the emulators to report the failed execution',
      () => /FAILED error=Demo cause=from the CLI/.test(out),
      {
        timeoutMs: 30_000,
      },
    );
  });
});

describe('the CLI on an older Node', () => {
  it('runs on the project’s Node 24 when started with the system Node, without a warning', () => {
    const system = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
    // Only meaningful where the system Node is older (this project's machines have Node 20).
    if (system.status !== 0 || Number(system.stdout.slice(1).split('.')[0]) >= 24) return;
    const r = spawnSync('/usr/bin/node', [CLI, 'send-task-failure', '--generate-cli-skeleton'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"taskToken": ""');
    expect(r.stderr).toBe('');
    const help = spawnSync('/usr/bin/node', [CLI, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sfn-relay/);
  });
});
