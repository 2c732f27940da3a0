/**
 * The lean rows of `npm run bench`: what users pay for besides throughput. Start → ready (spawn to
 * the first `/readyz` 200, against the SQS emulator; median of 5) and idle RSS, with tracing off
 * and on; the in-memory dedup store at a million done-records (its typed arrays' size, and the heap
 * they add) and the longest event-loop pause while they expire.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MemoryDedupStore } from '../src/state/dedup/memory.js';
import { track } from './children.js';

export interface StartupRow {
  tracing: 'off' | 'on';
  medianReadyMs: number;
  readyMs: number[];
  idleRssMiB: number;
}

export interface DedupRow {
  entries: number;
  tableMiB: number;
  heapAddedMiB: number;
  longestSweepPauseMs: number;
  eventLoopMaxDelayMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** One start: spawn `node <flags> dist/main.js`, poll /readyz every 5 ms; RSS after `idleMs`. */
async function startOnce(
  main: string,
  flags: string[],
  env: Record<string, string>,
  idleMs: number,
): Promise<{ ms: number; rss: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = track(
    spawn(process.execPath, [...flags, main], {
      env: { PATH: process.env.PATH ?? '', HTTP_PORT: String(port), LOG_LEVEL: 'warn', ...env },
      stdio: 'ignore',
    }),
  );
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the relay exited with ${child.exitCode} before it was ready`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(5);
    }
    const ms = performance.now() - t0;
    await sleep(idleMs);
    return { ms, rss: rssMiB(child.pid ?? 0) };
  } finally {
    child.kill('SIGKILL');
  }
}

export async function startupRows(
  main: string,
  flags: string[],
  env: Record<string, string>,
  collector: string,
  runs = 5,
): Promise<StartupRow[]> {
  const rows: StartupRow[] = [];
  for (const tracing of ['off', 'on'] as const) {
    const tracingEnv: Record<string, string> =
      tracing === 'off'
        ? { OTEL_TRACES_EXPORTER: 'none' }
        : { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: collector };
    const results: { ms: number; rss: number }[] = [];
    for (let i = 0; i < runs; i += 1) results.push(await startOnce(main, flags, { ...env, ...tracingEnv }, 3000));
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    const rss = results.map((r) => r.rss).sort((a, b) => a - b);
    rows.push({
      tracing,
      medianReadyMs: Math.round(ms[Math.floor(ms.length / 2)] ?? 0),
      readyMs: results.map((r) => Math.round(r.ms)),
      idleRssMiB: Math.round(rss[Math.floor(rss.length / 2)] ?? 0),
    });
  }
  return rows;
}

/** A million done-records in the in-process store: their size, and the pauses of expiring them. */
export async function dedupRow(entries = 1_000_000): Promise<DedupRow> {
  let now = Date.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage();
  const store = new MemoryDedupStore({ now: () => now, maxEntries: entries });
  for (let i = 0; i < entries; i += 1) {
    await store.complete(createHash('sha256').update(`token ${i}`).digest('hex'), 86_400_000, 'failure');
  }
  gc?.();
  const after = process.memoryUsage();
  const heapAddedMiB = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1024 / 1024;
  // A day later, all expire: the relay's timer sweeps a little each second; here, back to back.
  now += 86_400_000 + 1000;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let longest = 0;
  while (store.size > 0) {
    const t0 = performance.now();
    store.sweep();
    longest = Math.max(longest, performance.now() - t0);
    await new Promise((r) => setImmediate(r));
  }
  delay.disable();
  const tableMiB = (after.arrayBuffers - before.arrayBuffers) / 1024 / 1024;
  await store.close();
  return {
    entries,
    tableMiB: Math.round(tableMiB * 10) / 10,
    heapAddedMiB: Math.round(heapAddedMiB * 10) / 10,
    longestSweepPauseMs: Math.round(longest * 100) / 100,
    eventLoopMaxDelayMs: Math.round((delay.max / 1e6) * 100) / 100,
  };
}
