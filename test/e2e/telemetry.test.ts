/**
 * Traces end to end: an in-memory exporter for the span tree of a run, and the real OTLP/HTTP export
 * path from a relay process to a small receiver.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { producerLinks } from '../../src/observability/traceContext.js';
import {
  createActivityMachine,
  executionFailure,
  queueCounts,
  startExecutionsWithTokens,
} from '../support/emulators.js';
import { startInProcess } from '../support/inProcess.js';
import { drainQueue, publish } from '../support/queue.js';
import { startRelayProcess } from '../support/relayProcess.js';
import { captureSpans } from '../support/spans.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();

const exporter = await captureSpans();

const PRODUCER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = (span: string) => ({
  traceparent: { DataType: 'String', StringValue: `00-${PRODUCER_TRACE}-${span}-01` },
});

describe.each(['lean', 'sdk'])('traces (SFN_CLIENT=%s)', (client) => {
  it('give each message a CONSUMER span linked to its producer, with attempt and DLQ children', async () => {
    exporter.reset();
    const name = `trace-${client}-${randomUUID().slice(0, 8)}`;
    const source = await emu.sqs.createQueue(name);
    const dlq = await emu.sqs.createQueue(`${name}-dlq`);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const [task] = await startExecutionsWithTokens(emu.sfn.client, machine, 1);
    const token = task?.token ?? '';
    // The first SendTaskFailure attempt is throttled: the SDK retries, and both attempts show.
    let throttled = false;
    emu.proxy.setFault((call) => {
      if (call.target !== 'SendTaskFailure' || throttled) return undefined;
      throttled = true;
      return { kind: 'throttle' };
    });
    await publish(emu.sqs.client, source, [
      {
        body: JSON.stringify({ taskToken: token, error: 'Traced', cause: 'c' }),
        attributes: traceparent('00f067aa0ba902b7'),
      },
      { body: 'not json', attributes: traceparent('00f067aa0ba902b8') },
    ]);
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const service = await startInProcess(
      emu,
      { source, dlq },
      { AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint, LOG_LEVEL: 'debug', SFN_CLIENT: client },
      logs,
    );
    try {
      await waitFor('both messages to finish', () => queueCounts(emu.sqs.server, name).total === 0);
      await waitFor(
        'the execution to fail',
        async () => (await executionFailure(emu.sfn.client, task?.executionArn ?? '')).status === 'FAILED',
      );
    } finally {
      await service.stop();
      emu.proxy.setFault(undefined);
    }
    const spans = exporter.getFinishedSpans();
    const processSpans = spans.filter((s) => s.name === `process ${name}`);
    expect(processSpans).toHaveLength(2);
    const byLink = (spanId: string) =>
      processSpans.find((s) =>
        s.links.some((l) => l.context.traceId === PRODUCER_TRACE && l.context.spanId === spanId),
      );
    const ok = byLink('00f067aa0ba902b7') as ReadableSpan;
    const poison = byLink('00f067aa0ba902b8') as ReadableSpan;
    expect(ok).toBeDefined();
    expect(poison).toBeDefined();
    // Linked, not parented: the process span starts a trace of its own.
    expect(ok.parentSpanContext).toBeUndefined();
    expect(ok.spanContext().traceId).not.toBe(PRODUCER_TRACE);
    expect(ok.kind).toBe(SpanKind.CONSUMER);
    expect(ok.attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': name,
      'aws.sqs.queue.url': source,
      'sfn_relay.outcome': 'failed',
      'sfn_relay.receive_count': 1,
    });
    expect(ok.attributes['messaging.message.id']).toMatch(/\S/);
    expect(ok.attributes['sfn_relay.token_hash']).toMatch(/^[0-9a-f]{12}$/);
    expect(poison.attributes).toMatchObject({ 'sfn_relay.outcome': 'dead_lettered', 'error.type': 'body_not_json' });

    // One CLIENT span per SendTaskFailure attempt, children of the process span.
    const attempts = spans
      .filter((s) => s.name === 'StepFunctions.SendTaskFailure')
      .filter((s) => s.parentSpanContext?.spanId === ok.spanContext().spanId);
    expect(
      attempts.map((s) => [s.kind, s.attributes['http.request.resend_count'], s.attributes['error.type']]),
    ).toEqual([
      [SpanKind.CLIENT, 0, 'ThrottlingException'],
      [SpanKind.CLIENT, 1, undefined],
    ]);
    expect(attempts[1]?.attributes['http.response.status_code']).toBe(200);

    // The DLQ send is a PRODUCER child of the poison's span, and its context is in the DLQ message.
    const send = spans.find((s) => s.name === `send ${name}-dlq`);
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(send?.parentSpanContext?.spanId).toBe(poison.spanContext().spanId);
    const [dead] = await drainQueue(emu.sqs.client, dlq);
    expect(dead?.MessageAttributes?.traceparent?.StringValue).toBe(
      `00-${send?.spanContext().traceId}-${send?.spanContext().spanId}-01`,
    );

    // Logs written inside a span carry its ids; error/cause only at debug; no token anywhere.
    const finishedLine = lines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'message finished' && l.outcome === 'failed');
    expect(finishedLine).toMatchObject({ trace_id: ok.spanContext().traceId, span_id: ok.spanContext().spanId });
    const parsedLine = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'failure event parsed');
    expect(parsedLine).toMatchObject({ level: 'debug', error: 'Traced' });
    const everything =
      JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.links, s.status])) + lines.join('');
    expect(everything).not.toContain(token);
  });
});

describe('producer links', () => {
  it('links the X-Ray AWSTraceHeader too (fauxqs does not pass it, so checked on a message)', () => {
    const links = producerLinks({
      Attributes: { AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' },
    });
    expect(links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([
      ['5759e988bd862e3fe1be46a994272793', '53995c3f42cd8ad8'],
    ]);
  });
});

describe('OTLP/HTTP export', () => {
  it('sends the spans of a relay process to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const bodies: { path: string; body: string }[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d;
      });
      req.on('end', () => {
        bodies.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    try {
      const name = `otlp-${randomUUID().slice(0, 8)}`;
      const source = await emu.sqs.createQueue(name);
      const dlq = await emu.sqs.createQueue(`${name}-dlq`);
      await publish(emu.sqs.client, source, ['not json']);
      const relay = await startRelayProcess({
        SOURCE_QUEUE_URL: source,
        DLQ_URL: dlq,
        AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
        AWS_ENDPOINT_URL_SFN: emu.sfn.endpoint,
        WAIT_TIME_SECONDS: '1',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'relay-under-test',
      });
      await waitFor('the message to be dead-lettered', () => queueCounts(emu.sqs.server, `${name}-dlq`).total === 1);
      // SIGTERM flushes the batch processor before the process exits.
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(0);
      const traces = bodies
        .filter((b) => b.path === '/v1/traces')
        .map((b) => b.body)
        .join('\n');
      expect(traces).toContain(`"process ${name}"`);
      expect(traces).toContain(`"send ${name}-dlq"`);
      expect(traces).toContain('relay-under-test');
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
