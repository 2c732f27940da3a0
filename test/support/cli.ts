/** `sfn-relay` as users run it: the built CLI in a child process, with test credentials. */

import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment the CLI runs in: test credentials, the emulator's endpoint, nothing else. */
export function cliEnv(sqsEndpoint: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
  };
}

/** Runs the CLI against `sqsEndpoint`; a command that does not end in `timeoutMs` is killed (code null). */
export function runCli(
  sqsEndpoint: string,
  args: string[],
  env: Record<string, string> = {},
  stdin?: string,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...cliEnv(sqsEndpoint), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    child.stdin.end(stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: output.stdout, stderr: output.stderr });
    });
  });
}

/** An invocation, the exit code it must end with, and what its one line on stderr must say. */
export type Refusal = [args: string[], code: number, message: RegExp];

/** Runs each case (the 253 cases without a region) and expects its code and one matching stderr line. */
export async function expectRefusals(
  cli: (args: string[], env: Record<string, string>) => Promise<CliResult>,
  cases: Refusal[],
): Promise<void> {
  for (const [args, code, message] of cases) {
    const r = await cli(args, code === 253 ? { AWS_REGION: '' } : {});
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    expect(r.stderr, args.join(' ')).toMatch(message);
    expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
  }
}

/** What a child process wrote, read as it goes (`stdout`, `stderr` are the text so far). */
export function collectOutput(child: { stdout: Readable | null; stderr: Readable | null }): {
  readonly stdout: string;
  readonly stderr: string;
} {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => {
    output.stdout += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    output.stderr += d;
  });
  return output;
}
