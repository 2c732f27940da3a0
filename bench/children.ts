/**
 * Everything the bench starts — the SQS emulator, the sink, the consumers under test, the Redis
 * servers — stopped on every way out: the run's end, a failure, a child that dies, Ctrl-C. The forked
 * children (sqsServer.ts, sink.ts, peers.ts) also exit when the bench's IPC channel closes, so even
 * a bench killed with SIGKILL leaves no Node process of theirs behind.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
/** Asynchronous stops (the Redis servers), run after the children are killed. */
const stops: (() => Promise<void>)[] = [];
let ending: Promise<never> | undefined;

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** Registers a child; one started while the bench is already ending is killed at once. */
export function track<C extends ChildProcess>(child: C): C {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (ending !== undefined) child.kill('SIGKILL');
  return child;
}

/** Registers an asynchronous stop; registered while ending, it runs at once. */
export function onEnd(stop: () => Promise<void>): void {
  if (ending === undefined) stops.push(stop);
  else void stop();
}

async function stopEverything(): Promise<void> {
  const running = [...children].filter(alive);
  const exited = running.map((c) => new Promise((r) => c.once('exit', r)));
  for (const c of running) c.kill('SIGKILL');
  // Bounded by the kill: SIGKILL cannot be ignored.
  await Promise.all(exited);
  await Promise.allSettled(stops.map((stop) => stop()));
}

/** Stops everything, then exits with `code` (once: later calls wait for the first). */
export function end(code: number, message?: string): Promise<never> {
  ending ??= (async () => {
    if (message !== undefined) process.stderr.write(message);
    await stopEverything();
    process.exit(code);
  })();
  return ending;
}

/** A consumer under test that dies ends the run at once, with its exit code, instead of a hang. */
export function failIfItDies(proc: ChildProcess, what: string): () => void {
  const onExit = (code: number | null, signal: string | null) => {
    void end(1, `\nbench failed: ${what} exited (${signal ?? `code ${code}`}) before the run ended\n`);
  };
  proc.once('exit', onExit);
  return () => proc.off('exit', onExit);
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => void end(code, `\nbench stopped by ${signal}\n`));
}
