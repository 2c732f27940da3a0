/**
 * CloudEvents end to end: the shapes Dapr, Knative, EventBridge Pipes and a CloudEvents SDK
 * produce, sent straight to the queue and delivered through fauxqs' SNS (enveloped and raw), and
 * published by `sfn-relay send-task-failure --cloudevent-source`. Each fails its execution once;
 * malformed CloudEvents are dead-lettered with their reason and their origin; the process span
 * links to the CloudEvent's traceparent.
 */
import { randomUUID } from 'node:crypto';
import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import { dapr, knative, PRODUCERS } from '../fixtures/cloudevents.js';
import { runCli } from '../support/cli.js';
import {
  createActivityMachine,
  queueCounts,
  startExecutionsWithTokens,
  waitForFailedOnce,
} from '../support/emulators.js';
import { startInProcess } from '../support/inProcess.js';
import { drainQueue, publish } from '../support/queue.js';
import { snsClient, topicInto } from '../support/sns.js';
import { captureSpans } from '../support/spans.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();

const exporter = await captureSpans();

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const tp = (span: string) => `00-${TRACE}-${span}-01`;

describe('CloudEvents from Kubernetes eventing', () => {
  it('each producer shape fails its execution once; malformed ones are dead-lettered with reason and origin', async () => {
    exporter.reset();
    const name = `ce-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    const dlq = await emu.sqs.createQueue(`${name}-dlq`);
    const sns = snsClient(emu.sqs.endpoint);
    const enveloped = await topicInto(sns, emu.sqs.client, `${name}-dapr`, source);
    const raw = await topicInto(sns, emu.sqs.client, `${name}-raw`, source, { raw: true });
    const machine = await createActivityMachine(emu.sfn.client, name);
    const producers = Object.entries(PRODUCERS);
    // One task per producer sent straight; Dapr and Knative through SNS enveloped and raw; two
    // tasks sharing one CloudEvent id; one published by the CLI.
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, producers.length + 4 + 2 + 1);
    const token = (i: number) => tasks[i]?.token ?? '';
    const event = (i: number) => ({ taskToken: token(i), error: `CE${i}`, cause: `task ${i}` });

    const direct = producers.map(([, producer], i) => JSON.stringify(producer(event(i))));
    // The same token again, in a second CloudEvent with its own id: one call for the token.
    direct.push(JSON.stringify(knative(event(0))));
    let i = producers.length;
    const viaSns = [dapr(event(i++), tp('00f067aa0ba902b1')), knative(event(i++))];
    const viaRaw = [dapr(event(i++)), knative(event(i++))];
    // Two different tokens in CloudEvents that share an id: not duplicates.
    const sharedId = randomUUID();
    direct.push(JSON.stringify({ ...knative(event(i++)), id: sharedId }));
    direct.push(JSON.stringify({ ...knative(event(i++)), id: sharedId }));
    const cliTask = i;
    const poison = {
      cloudevent_invalid: { ...knative(event(0)), specversion: '0.3' },
      cloudevent_data_missing: { ...knative(event(0)), data: undefined },
      cloudevent_data_not_json: { ...knative(event(0)), datacontenttype: 'text/plain' },
      envelope_too_deep: knative(knative(knative(knative(event(0))))),
    };
    await publish(emu.sqs.client, source, [
      ...direct,
      // A CloudEvent traceparent and a different one as the SQS attribute: both linked, the CloudEvent's first.
      {
        body: JSON.stringify(dapr(event(1), tp('00f067aa0ba902b2'))),
        attributes: { traceparent: { DataType: 'String', StringValue: tp('00f067aa0ba902b3') } },
      },
      ...Object.values(poison).map((p) => JSON.stringify(p)),
    ]);
    for (const ce of viaSns) await sns.send(new PublishCommand({ TopicArn: enveloped, Message: JSON.stringify(ce) }));
    for (const ce of viaRaw) await sns.send(new PublishCommand({ TopicArn: raw, Message: JSON.stringify(ce) }));
    const published = await runCli(
      emu.sqs.endpoint,
      [
        'send-task-failure',
        '--cloudevent-source',
        '//orders/payment-worker',
        '--task-token',
        token(cliTask),
        '--error',
        `CE${cliTask}`,
        '--cause',
        `task ${cliTask}`,
      ],
      { SOURCE_QUEUE_URL: source, TRACEPARENT: tp('00f067aa0ba902b4') },
    );
    expect(published).toMatchObject({ code: 0, stderr: '' });

    const service = await startInProcess(emu, { source, dlq }, { AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint });
    try {
      const results = await waitForFailedOnce(emu.sfn.client, tasks);
      expect(results.map((r) => r.error)).toEqual(tasks.map((_, n) => `CE${n}`));
      await waitFor('the source queue to drain', () => queueCounts(emu.sqs.server, name).total === 0);
    } finally {
      await service.stop();
    }
    sns.destroy();
    // One SendTaskFailure per token, the repeated token included.
    const forwarded = emu.proxy.forwardedByToken();
    expect(tasks.map((t) => forwarded.get(t.token))).toEqual(tasks.map(() => 1));

    const dead = await drainQueue(emu.sqs.client, dlq);
    const infos = dead.map((m) => readDeadLetterInfo(m));
    expect(infos.map((x) => x?.reason).sort()).toEqual(Object.keys(poison).sort());
    const invalid = infos.find((x) => x?.reason === 'cloudevent_invalid');
    expect(invalid?.origin).toEqual({
      envelope: 'cloudevent',
      cloudEventSource: poison.cloudevent_invalid.source,
      cloudEventType: 'dev.knative.sources.ping',
      cloudEventId: poison.cloudevent_invalid.id,
    });
    expect(infos.find((x) => x?.reason === 'envelope_too_deep')?.origin?.envelope).toBe(
      'cloudevent>cloudevent>cloudevent',
    );
    for (const m of dead) expect(JSON.stringify(m.MessageAttributes)).not.toContain(token(0));

    // Spans: the CloudEvent's identity, and links to its trace context (closest to the producer first).
    const spans = exporter.getFinishedSpans().filter((s) => s.name === `process ${name}`);
    const linked = (span: string) =>
      spans.find((s) => s.links.some((l) => l.context.traceId === TRACE && l.context.spanId === span));
    const viaSnsSpan = linked('00f067aa0ba902b1');
    expect(viaSnsSpan?.attributes).toMatchObject({
      'sfn_relay.envelope': 'sns>cloudevent',
      'sfn_relay.sns.topic_arn': enveloped,
      'cloudevents.event_source': 'payment-worker',
      'cloudevents.event_type': 'com.dapr.event.sent',
      'cloudevents.event_id': viaSns[0]?.id,
      'sfn_relay.outcome': 'failed',
    });
    expect(viaSnsSpan?.links.map((l) => l.attributes?.['sfn_relay.link.source'])).toEqual(['cloudevent.traceparent']);
    const both = linked('00f067aa0ba902b2');
    expect(both?.links.map((l) => [l.context.spanId, l.attributes?.['sfn_relay.link.source']])).toEqual([
      ['00f067aa0ba902b2', 'cloudevent.traceparent'],
      ['00f067aa0ba902b3', 'traceparent'],
    ]);
    // The CLI's CloudEvent carries the caller's context twice (extension and attribute): one link.
    const fromCli = linked('00f067aa0ba902b4');
    expect(fromCli?.attributes).toMatchObject({
      'sfn_relay.envelope': 'cloudevent',
      'cloudevents.event_source': '//orders/payment-worker',
      'cloudevents.event_type': 'sfn-failure-relay.task-failure',
    });
    expect(fromCli?.links).toHaveLength(1);
    expect(fromCli?.links[0]?.attributes?.['sfn_relay.link.source']).toBe('cloudevent.traceparent');
    const attributes = JSON.stringify(spans.map((s) => s.attributes));
    for (const t of tasks) expect(attributes).not.toContain(t.token);
  });
});
