/**
 * The check that the suite leaves the machine as it found it (test/support/leftovers.ts) finds what
 * this run started and left running, by each of its three marks, and nothing of other runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { leftoverProcesses, processGroup, processKeys, RUN_MARKER, type RunScope } from '../support/leftovers.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGKILL');
});

/** `sleep 60`, optionally in a session and process group of its own, with exactly `env`. */
function sleeper(env: Record<string, string>, detached: boolean): ChildProcess {
  const child = spawn('sleep', ['60'], { env: { PATH: process.env.PATH ?? '', ...env }, detached, stdio: 'ignore' });
  started.push(child);
  return child;
}

const pids = (scope: RunScope) => leftoverProcesses(scope).map((p) => p.pid);

describe('leftover processes', () => {
  it('finds one that carries the run’s marker, even detached and not a descendant', () => {
    const marker = randomUUID();
    const scope = { marker, pgid: -1, rootPid: -1, before: processKeys() };
    const ours = sleeper({ [RUN_MARKER]: marker }, true);
    const theirs = sleeper({ [RUN_MARKER]: randomUUID() }, true);
    expect(pids(scope)).toContain(ours.pid);
    expect(pids(scope)).not.toContain(theirs.pid);
  });

  it('finds one in the run’s process group, even with a minimal environment', () => {
    const scope = { marker: randomUUID(), pgid: processGroup(), rootPid: -1, before: processKeys() };
    const child = sleeper({}, false);
    expect(pids(scope)).toContain(child.pid);
    expect(pids({ ...scope, pgid: -1 })).not.toContain(child.pid);
  });

  it('finds a descendant in a group of its own, and not what existed before the run, nor what ended', async () => {
    const before = sleeper({}, true);
    const scope = { marker: randomUUID(), pgid: -1, rootPid: process.pid, before: processKeys() };
    const after = sleeper({}, true);
    expect(pids(scope)).toContain(after.pid);
    expect(pids(scope)).not.toContain(before.pid);
    const exited = new Promise((r) => after.once('exit', r));
    after.kill('SIGKILL');
    await exited;
    expect(pids(scope)).not.toContain(after.pid);
  });
});
