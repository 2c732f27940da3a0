/** The bench's events: realistic tokens; failure bodies, or success bodies with an output of a given size. */
import { randomBytes } from 'node:crypto';

/** A base64-like token of realistic length (real ones are several hundred characters). */
export function token(): string {
  return `AAAAKgAAAAIAAAAAAAAAA${randomBytes(360).toString('base64')}`;
}

/** What a run publishes: failures (today's rows) or successes whose `output` is JSON text of `outputBytes`. */
export type Callback = { kind: 'failure' } | { kind: 'success'; outputBytes: number };

/** JSON text of exactly `bytes` UTF-8 bytes (≥ 12): `{"data":"xxx…"}`, cheap to escape in the body. */
export function outputOf(bytes: number): string {
  return JSON.stringify({ data: 'x'.repeat(Math.max(0, bytes - 11)) });
}

function body(callback: Callback, taskToken: string, i: number, output: string): string {
  return callback.kind === 'success'
    ? JSON.stringify({ taskToken, output, kind: 'success' })
    : JSON.stringify({ taskToken, error: 'Bench', cause: `event ${i}` });
}

/** `n` bodies, `dupShare` of them repeats of others, shuffled. */
export function events(
  n: number,
  dupShare: number,
  callback: Callback = { kind: 'failure' },
): { bodies: string[]; unique: number } {
  const unique = Math.round(n * (1 - dupShare));
  const output = callback.kind === 'success' ? outputOf(callback.outputBytes) : '';
  const bodies = Array.from({ length: unique }, (_, i) => body(callback, token(), i, output));
  for (let i = unique; i < n; i += 1) bodies.push(bodies[(i * 7919) % unique] ?? '');
  for (let i = bodies.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [bodies[i], bodies[j]] = [bodies[j] as string, bodies[i] as string];
  }
  return { bodies, unique };
}

/** Entries per SendMessageBatch: at most 10, and at most 256 KiB together (SQS refuses more). */
export function batchSizeFor(bodies: readonly string[]): number {
  let largest = 0;
  for (const b of bodies) largest = Math.max(largest, Buffer.byteLength(b));
  return Math.max(1, Math.min(10, Math.floor(262_144 / Math.max(1, largest))));
}
