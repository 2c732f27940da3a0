/** The relay as operators run it: `node dist/main.js` in a child process, configured by environment. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface RelayProcess {
  child: ChildProcess;
  port: number;
  /** Everything the process wrote, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
  metrics(): Promise<string>;
  status(path: '/readyz' | '/healthz'): Promise<number>;
}

export async function startRelayProcess(env: Record<string, string>): Promise<RelayProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      HTTP_PORT: '0',
      // Tests that look at traces turn the exporter on; the rest do not pay for exporting.
      OTEL_TRACES_EXPORTER: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A relay that exits during start-up fails at once, with what it said.
  const early = exited.then((code) => {
    throw new Error(`relay exited with ${code}: ${out}`);
  });
  early.catch(() => undefined);
  const port = await Promise.race([
    early,
    waitFor(
      'the relay to start',
      () => {
        const m = /"port":(\d+).*"msg":"relay started"/.exec(out);
        return m === null ? undefined : Number(m[1]);
      },
      { timeoutMs: 20_000 },
    ),
  ]);
  return {
    child,
    port,
    output: () => out,
    exited,
    metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
    status: async (path) => (await fetch(`http://127.0.0.1:${port}${path}`)).status,
  };
}

/** Sum of a counter's samples that carry all of `labels`. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter(
      (line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && want.every((w) => line.includes(w)),
    )
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** Kills the relay processes still running (a test that failed midway) and waits for them to exit. */
export async function killRelays(relays: RelayProcess[]): Promise<void> {
  for (const r of relays) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await Promise.all(relays.map((r) => r.exited));
}
