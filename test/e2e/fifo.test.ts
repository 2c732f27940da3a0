import { randomUUID } from 'node:crypto';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import { runCli } from '../support/cli.js';
import {
  createActivityMachine,
  queueCounts,
  REGION,
  startExecutionsWithTokens,
  waitForFailedOnce,
} from '../support/emulators.js';
import { type FairQueueProxy, startFairQueueProxy } from '../support/fairQueueProxy.js';
import { drainQueue } from '../support/queue.js';
import { killRelays, type RelayProcess, startRelayProcess } from '../support/relayProcess.js';
import { snsClient, topicInto } from '../support/sns.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const relays: RelayProcess[] = [];
let proxy: FairQueueProxy | undefined;

afterAll(async () => {
  await killRelays(relays);
  await proxy?.stop();
});

async function fifoQueues(name: string): Promise<{ source: string; dlq: string }> {
  return {
    source: await emu.sqs.createQueue(`${name}.fifo`, { FifoQueue: 'true' }),
    dlq: await emu.sqs.createQueue(`${name}-dlq.fifo`, { FifoQueue: 'true' }),
  };
}

function relayEnv(q: { source: string; dlq: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SOURCE_QUEUE_URL: q.source,
    DLQ_URL: q.dlq,
    AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
    AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
    WAIT_TIME_SECONDS: '1',
    RETRY_BASE_DELAY_SECONDS: '1',
    ...extra,
  };
}

interface Sent {
  body: string;
  group: string;
  /** FIFO queues without content-based deduplication need one; fair (standard) queues none. */
  dedup?: string;
}

async function sendFifo(queueUrl: string, messages: Sent[], endpoint = emu.sqs.client): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const out = await endpoint.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, j) => ({
          Id: String(j),
          MessageBody: m.body,
          MessageGroupId: m.group,
          ...(m.dedup === undefined ? {} : { MessageDeduplicationId: m.dedup }),
        })),
      }),
    );
    if ((out.Failed ?? []).length > 0) throw new Error(JSON.stringify(out.Failed));
  }
}

const cli = (args: string[], env: Record<string, string>) => runCli(emu.sqs.endpoint, args, env);

describe('FIFO queues', () => {
  it('FIFO source and DLQ, 5 groups, duplicates, poison, 30 % throttling: each task failed once, poison in the FIFO DLQ with its group', async () => {
    const name = `fifo-${randomUUID().slice(0, 8)}`;
    const q = await fifoQueues(name);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 40);
    const group = (i: number) => `g${i % 5}`;
    const messages: Sent[] = [
      ...tasks.map((t, i) => ({
        body: JSON.stringify({ taskToken: t.token, error: `F${i}` }),
        group: group(i),
        dedup: `t${i}`,
      })),
      // A second copy of ten events, with their own deduplication ids (a producer retrying after a timeout).
      ...tasks.slice(0, 10).map((t, i) => ({
        body: JSON.stringify({ taskToken: t.token, error: `F${i}` }),
        group: group(i),
        dedup: `d${i}`,
      })),
      ...Array.from({ length: 5 }, (_, i) => ({ body: `poison ${i}`, group: group(i), dedup: `p${i}` })),
    ];
    await sendFifo(q.source, messages);
    emu.proxy.setFault((call) =>
      call.target === 'SendTaskFailure' && Math.random() < 0.3 ? { kind: 'throttle' } : undefined,
    );
    const relay = await startRelayProcess(relayEnv(q, { MAX_RECEIVES: '10' }));
    relays.push(relay);
    expect(relay.output()).toMatch(/"check":"fifo".*SOURCE_QUEUE_URL is FIFO/);
    expect(relay.output()).not.toContain('WARNING: A FIFO queue was detected');
    await waitFor('the FIFO source to empty', () => queueCounts(emu.sqs.server, `${name}.fifo`).total === 0, {
      timeoutMs: 60_000,
    });
    emu.proxy.setFault(undefined);
    await waitForFailedOnce(emu.sfn.client, tasks);
    const successes = emu.proxy.successesByToken();
    for (const t of tasks) expect(successes.get(t.token), 'successful calls for a token').toBe(1);
    const dead = await drainQueue(emu.sqs.client, q.dlq);
    expect(dead.map((m) => m.Body).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `poison ${i}`));
    for (const m of dead) {
      const i = Number((m.Body ?? '').split(' ')[1]);
      expect(m.Attributes?.MessageGroupId, m.Body).toBe(group(i));
      expect(readDeadLetterInfo(m)?.reason).toBe('body_not_json');
    }
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
  });

  it('a throttled token holds its group only as long as FIFO_MAX_HAND_BACK_SECONDS allows', async () => {
    const name = `fifo-slow-${randomUUID().slice(0, 8)}`;
    const q = await fifoQueues(name);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const [slow, ...rest] = await startExecutionsWithTokens(emu.sfn.client, machine, 4);
    // The first token is throttled for its first three receives (two attempts each).
    let slowCalls = 0;
    emu.proxy.setFault((call) => {
      if (call.target !== 'SendTaskFailure' || call.token !== slow?.token) return undefined;
      slowCalls += 1;
      return slowCalls <= 6 ? { kind: 'throttle' } : undefined;
    });
    // Uncapped, base 4 s would hand it back for 2–4, 4–8 and 8–16 s: the group would wait 14–28 s.
    const relay = await startRelayProcess(
      relayEnv(q, {
        SFN_MAX_ATTEMPTS: '2',
        RETRY_BASE_DELAY_SECONDS: '4',
        FIFO_MAX_HAND_BACK_SECONDS: '2',
        MAX_RECEIVES: '10',
      }),
    );
    relays.push(relay);
    await sendFifo(q.source, [
      { body: JSON.stringify({ taskToken: slow?.token, error: 'Slow' }), group: 'one', dedup: 'slow' },
    ]);
    await waitFor('the slow token handed back once', () => slowCalls >= 2);
    const published = Date.now();
    await sendFifo(
      q.source,
      rest.map((t, i) => ({
        body: JSON.stringify({ taskToken: t.token, error: `R${i}` }),
        group: 'one',
        dedup: `r${i}`,
      })),
    );
    await waitForFailedOnce(emu.sfn.client, rest);
    const heldFor = (Date.now() - published) / 1000;
    await waitForFailedOnce(emu.sfn.client, slow === undefined ? [] : [slow]);
    process.stdout.write(
      `\nFIFO: a token throttled for 3 receives held the rest of its group for ${heldFor.toFixed(1)} s (hand-backs capped at 2 s; uncapped 14–28 s)\n`,
    );
    expect(heldFor).toBeLessThan(12);
    emu.proxy.setFault(undefined);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
  });

  it('the CLI publishes to a FIFO queue with a group, and redrives FIFO → FIFO keeping groups, nothing lost', async () => {
    const name = `fifo-cli-${randomUUID().slice(0, 8)}`;
    const q = await fifoQueues(name);
    const env = { SOURCE_QUEUE_URL: q.source, DLQ_URL: q.dlq };
    const sent = await cli(['send-task-failure', '--task-token', 'tok-1', '--message-group-id', 'orders'], env);
    expect(sent.code, sent.stderr).toBe(0);
    // The default deduplication id is the body's hash: the same event again is dropped by SQS.
    await cli(['send-task-failure', '--task-token', 'tok-1', '--message-group-id', 'orders'], env);
    const [published] = await drainQueue(emu.sqs.client, q.source, 1);
    expect(published?.Attributes?.MessageGroupId).toBe('orders');
    expect(queueCounts(emu.sqs.server, `${name}.fifo`).total).toBe(1);
    // A relay with a FIFO DLQ: poison of two groups goes there, groups kept.
    await sendFifo(q.source, [
      { body: 'bad a', group: 'alpha', dedup: 'a' },
      { body: 'bad b', group: 'beta', dedup: 'b' },
    ]);
    const relay = await startRelayProcess(relayEnv(q));
    relays.push(relay);
    await waitFor('three in the DLQ', () => queueCounts(emu.sqs.server, `${name}-dlq.fifo`).total === 3, {
      timeoutMs: 30_000,
    });
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const listed = await cli(['dlq', 'list', '--json'], env);
    expect((JSON.parse(listed.stdout) as { groupId: string }[]).map((r) => r.groupId).sort()).toEqual([
      'alpha',
      'beta',
      'orders',
    ]);
    const moved = await cli(['dlq', 'redrive', '--force'], env);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/^moved 3,/);
    const back = await drainQueue(emu.sqs.client, q.source);
    expect(back.map((m) => `${m.Attributes?.MessageGroupId}:${m.Body?.slice(0, 5)}`).sort()).toEqual([
      'alpha:bad a',
      'beta:bad b',
      'orders:{"tas',
    ]);
    expect(queueCounts(emu.sqs.server, `${name}-dlq.fifo`).total).toBe(0);
  });
});

describe('fair queues (a group on a standard queue)', () => {
  it('keeps the group on the DLQ copy and on redrive', async () => {
    proxy = await startFairQueueProxy(emu.sqs.endpoint);
    const name = `fair-${randomUUID().slice(0, 8)}`;
    const q = { source: await emu.sqs.createQueue(name), dlq: await emu.sqs.createQueue(`${name}-dlq`) };
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 4);
    const viaProxy = (await import('../../src/aws/sqs.js')).createSqsClient(REGION, proxy.endpoint);
    await sendFifo(
      q.source,
      [
        ...tasks.map((t, i) => ({
          body: JSON.stringify({ taskToken: t.token, error: `T${i}` }),
          group: `tenant-${i % 2}`,
        })),
        { body: 'tenant poison', group: 'tenant-7' },
      ],
      viaProxy,
    );
    const relay = await startRelayProcess({ ...relayEnv(q), AWS_ENDPOINT_URL_SQS: proxy.endpoint });
    relays.push(relay);
    await waitFor('the source to empty', () => queueCounts(emu.sqs.server, name).total === 0, { timeoutMs: 30_000 });
    await waitForFailedOnce(emu.sfn.client, tasks);
    const toDlq = proxy.sends.filter((s) => s.queueUrl === q.dlq).flatMap((s) => s.entries);
    expect(toDlq.map((e) => [e.MessageBody, e.MessageGroupId])).toEqual([['tenant poison', 'tenant-7']]);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const before = proxy.sends.length;
    const moved = await cli(['dlq', 'redrive', '--force'], {
      SOURCE_QUEUE_URL: q.source,
      DLQ_URL: q.dlq,
      AWS_ENDPOINT_URL_SQS: proxy.endpoint,
    });
    expect(moved.stdout).toMatch(/^moved 1,/);
    const redriven = proxy.sends
      .slice(before)
      .filter((s) => s.queueUrl === q.source)
      .flatMap((s) => s.entries);
    expect(redriven.map((e) => [e.MessageBody, e.MessageGroupId])).toEqual([['tenant poison', 'tenant-7']]);
    viaProxy.destroy();
  });
});

describe('SNS as fauxqs delivers it', () => {
  it('raw and enveloped deliveries from standard and FIFO topics each fail their execution once', async () => {
    const sns = snsClient(emu.sqs.endpoint);
    const name = `sns-${randomUUID().slice(0, 8)}`;
    const standard = { source: await emu.sqs.createQueue(name), dlq: await emu.sqs.createQueue(`${name}-dlq`) };
    const fifo = await fifoQueues(`${name}-f`);
    const enveloped = await topicInto(sns, emu.sqs.client, `${name}-enveloped`, standard.source);
    const raw = await topicInto(sns, emu.sqs.client, `${name}-raw`, standard.source, { raw: true });
    const fifoTopic = await topicInto(sns, emu.sqs.client, `${name}-f.fifo`, fifo.source, { fifo: true });
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 6);
    const event = (i: number) => JSON.stringify({ taskToken: tasks[i]?.token, error: `S${i}`, cause: `via SNS ${i}` });
    for (const i of [0, 1]) await sns.send(new PublishCommand({ TopicArn: enveloped, Message: event(i) }));
    for (const i of [2, 3]) await sns.send(new PublishCommand({ TopicArn: raw, Message: event(i) }));
    for (const i of [4, 5]) {
      await sns.send(
        new PublishCommand({
          TopicArn: fifoTopic,
          Message: event(i),
          MessageGroupId: 'sns-group',
          MessageDeduplicationId: `s${i}`,
        }),
      );
    }
    await sns.send(
      new PublishCommand({
        TopicArn: fifoTopic,
        Message: 'not json',
        MessageGroupId: 'sns-group',
        MessageDeduplicationId: 'bad',
      }),
    );
    const [a, b] = await Promise.all([startRelayProcess(relayEnv(standard)), startRelayProcess(relayEnv(fifo))]);
    relays.push(a, b);
    const results = await waitForFailedOnce(emu.sfn.client, tasks);
    expect(results.map((r) => r.error)).toEqual(['S0', 'S1', 'S2', 'S3', 'S4', 'S5']);
    expect(results.map((r) => r.cause)).toEqual(Array.from({ length: 6 }, (_, i) => `via SNS ${i}`));
    const envelopes = (r: RelayProcess) =>
      r
        .output()
        .split('\n')
        .filter((l) => l.includes('"outcome":"failed"'))
        .map((l) => (JSON.parse(l) as { envelope: string }).envelope)
        .sort();
    expect(envelopes(a)).toEqual(['plain', 'plain', 'sns', 'sns']);
    expect(envelopes(b)).toEqual(['sns', 'sns']);
    await waitFor(
      'the SNS poison in the FIFO DLQ',
      () => queueCounts(emu.sqs.server, `${name}-f-dlq.fifo`).total === 1,
    );
    const [dead] = await drainQueue(emu.sqs.client, fifo.dlq);
    expect(readDeadLetterInfo(dead ?? {})?.reason).toBe('sns_message_not_json');
    expect(dead?.Attributes?.MessageGroupId).toBe('sns-group');
    sns.destroy();
    for (const r of [a, b]) {
      r.child.kill('SIGTERM');
      expect(await r.exited).toBe(0);
    }
  });
});
