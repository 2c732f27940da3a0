/**
 * The suite leaves the machine as it found it. A global setup, listed first in vitest.config.ts so
 * that its teardown runs last, after the servers' own stops.
 *
 * - Temporary files: the run gets a temporary directory of its own, `sfn-relay-test-run-*`, as
 *   TMPDIR (read by `os.tmpdir()` in vitest's workers and in every process started with
 *   `process.env`). At the end it must be empty; then it is removed. Other engineers' runs on the
 *   same machine write into their own, so nothing of theirs can be taken for ours.
 * - Processes: at the end, no process may remain that started after the setup and belongs to this
 *   run: one whose environment carries the run's marker (`SFN_RELAY_TEST_RUN`, inherited by whatever
 *   is started with `process.env`, even once orphaned), one in this run's process group (whatever is
 *   not detached, even when started with a minimal environment, or when it overwrites its environment
 *   as redis-server does for its process title), or one descended from vitest.
 *   Zombies are dead already and are not counted.
 *
 * What remains is listed, killed and removed, and the run fails with exit code 1 (vitest prints an
 * error thrown by a global teardown but still exits 0, so the exit code is set here).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export const RUN_MARKER = 'SFN_RELAY_TEST_RUN';

export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  /** pid and start time (clock ticks since boot) together: a pid reused later is another process. */
  key: string;
  command: string;
}

/** What identifies this run's processes. */
export interface RunScope {
  marker: string;
  pgid: number;
  rootPid: number;
  /** Keys of the processes that existed when the run started. */
  before: ReadonlySet<string>;
}

const HAS_PROC = existsSync('/proc/self/stat');

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // gone meanwhile, or another user's
  }
}

function readProc(pid: number): Proc | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === '') return undefined;
  // Fields after the command name, which is in parentheses and may contain spaces: state is field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    state: f[0] ?? '',
    key: `${pid}:${f[19]}`,
    command: read(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').trim() || stat.slice(0, stat.lastIndexOf(')') + 1),
  };
}

export function processes(): Proc[] {
  if (!HAS_PROC) return [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((p) => p !== undefined);
}

export function processKeys(): Set<string> {
  return new Set(processes().map((p) => p.key));
}

function carriesMarker(pid: number, marker: string): boolean {
  return read(`/proc/${pid}/environ`).split('\0').includes(`${RUN_MARKER}=${marker}`);
}

/** Processes of the run's scope started since `before`, alive (not zombies), other than this one. */
export function leftoverProcesses(scope: RunScope): Proc[] {
  const all = processes();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  // Walks up the parents; bounded by the number of processes, should /proc change under the walk.
  const descends = (p: Proc) => {
    let q: Proc | undefined = p;
    for (let i = 0; q !== undefined && i < all.length; i += 1) {
      if (q.ppid === scope.rootPid) return true;
      q = byPid.get(q.ppid);
    }
    return false;
  };
  return all.filter(
    (p) =>
      p.pid !== process.pid &&
      p.state !== 'Z' &&
      !scope.before.has(p.key) &&
      (p.pgid === scope.pgid || descends(p) || carriesMarker(p.pid, scope.marker)),
  );
}

/** This process's group: the run's, since vitest's workers and what they start without `detached` share it. */
export function processGroup(): number {
  return readProc(process.pid)?.pgid ?? -1;
}

/**
 * Caches that tools keep in the temporary directory on purpose, reused by the next run rather than
 * left behind by this one: tsx's compile cache (`tsx-<uid>`, made by `node --import tsx`).
 */
const TOOL_CACHES = [/^tsx-\d+$/];

const describe = (p: Proc) => `  process ${p.pid}: ${p.command.slice(0, 200)}`;

export default function setup(): () => Promise<void> {
  const scope: RunScope = { marker: randomUUID(), pgid: processGroup(), rootPid: process.pid, before: processKeys() };
  const previousTmp = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'sfn-relay-test-run-'));
  process.env[RUN_MARKER] = scope.marker;
  process.env.TMPDIR = dir;

  return async () => {
    // A process stopped a moment ago may still be on its way out: give it 5 s.
    await waitFor('test processes to end', () => leftoverProcesses(scope).length === 0, {
      timeoutMs: 5000,
      intervalMs: 100,
    }).catch(() => undefined);
    const procs = leftoverProcesses(scope);
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    const files = readdirSync(dir).filter((f) => !TOOL_CACHES.some((cache) => cache.test(f)));
    rmSync(dir, { recursive: true, force: true });
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    if (procs.length === 0 && files.length === 0) return;
    process.exitCode = 1;
    throw new Error(
      [
        'the tests left the machine changed (now cleaned up; fix what made them):',
        ...procs.map(describe),
        ...files.map((f) => `  temporary entry: ${f}`),
      ].join('\n'),
    );
  };
}
