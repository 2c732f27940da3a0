/**
 * Ctrl-C during `sfn-relay dlq redrive` (the real process, fauxqs): the batch in hand is finished,
 * the summary so far is printed, the exit is 130, and no message is lost or left in flight.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterEntry } from '../../src/pipeline/deadLetter.js';
import { CLI, cliEnv, collectOutput } from '../support/cli.js';
import { queueCounts, type SqsEmulator, startSqs } from '../support/emulators.js';
import { waitFor } from '../support/wait.js';

let sqs: SqsEmulator;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(async () => {
  await sqs?.stop();
});

const N = 3000;

describe('dlq redrive interrupted by SIGINT', () => {
  it('finishes the batch in hand, prints the summary so far, exits 130, and loses or duplicates nothing', async () => {
    const name = `int-${randomUUID().slice(0, 8)}`;
    const source = await sqs.createQueue(name);
    const dlq = await sqs.createQueue(`${name}-dlq`);
    const now = new Date().toISOString();
    for (let i = 0; i < N; i += 10) {
      const entries = Array.from({ length: 10 }, (_, j) => {
        const id = `m${i + j}`;
        return deadLetterEntry(
          String(j),
          { MessageId: id, Body: JSON.stringify({ taskToken: `token-${id}` }) },
          {
            reason: 'retries_exhausted',
            detail: 'test',
            sourceMessageId: id,
            receiveCount: 1,
            firstReceivedAt: now,
            deadLetteredAt: now,
          },
        ).entry;
      });
      await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: dlq, Entries: entries }));
    }
    const child = spawn(process.execPath, [CLI, 'dlq', 'redrive', '--dlq-url', dlq, '--queue-url', source], {
      env: cliEnv(sqs.endpoint),
    });
    const output = collectOutput(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the redrive to have moved some', () => queueCounts(sqs.server, name).total >= 10);
    child.kill('SIGINT');
    expect(await exited, output.stderr).toBe(130);
    const { stdout, stderr } = output;
    const moved = Number(/^moved (\d+), /.exec(stdout)?.[1]);
    const inSource = queueCounts(sqs.server, name).total;
    expect(moved).toBe(inSource);
    expect(moved).toBeLessThan(N);
    expect(stdout).toContain('interrupted: the batch in hand was finished');
    expect(stderr).toMatch(/sfn-relay: interrupted$/m);
    // Nothing lost, nothing in both queues, nothing left hidden.
    expect(queueCounts(sqs.server, `${name}-dlq`)).toMatchObject({ ready: N - moved, inflight: 0 });
  });
});
