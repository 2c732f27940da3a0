/**
 * Every message reaches an end, as a property: generated bodies, attributes and Step Functions
 * answers go through the real relay, heartbeat and settle code, against an in-memory SQS that
 * enforces SQS's rules (test/support/sqsModel.ts). PROPERTY_RUNS=5000 runs more; PROPERTY_SEED
 * replays a failure (the seed is printed with it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SendResult, toSendResult } from '../../src/aws/stepFunctions.js';
import { type CallbackEvent, DEFAULT_LIMITS } from '../../src/core/event.js';
import type { CallbackKind } from '../../src/core/kinds.js';
import { createLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { readDeadLetterInfo } from '../../src/pipeline/deadLetter.js';
import { Relay } from '../../src/pipeline/relay.js';
import { SendBreaker } from '../../src/state/breaker.js';
import { MemoryDedupStore } from '../../src/state/dedup/memory.js';
import { createLimiter } from '../../src/state/rateLimit.js';
import { build, type MessageSpec, messageSpec, OUTPUT_MARK, type Plan, plan } from '../support/propertyGen.js';
import { captureSpans } from '../support/spans.js';
import { SqsModel } from '../support/sqsModel.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const SEED = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);
const SOURCE = 'https://sqs.us-east-1.amazonaws.com/1/source';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/1/dlq';
const MAX_BYTES = 4096;
const MAX_RECEIVES = 3;
const VISIBILITY = 30;
/** Receive rounds after which a message still in the queue counts as looping. */
const MAX_ROUNDS = 250;
/** A DLQ smaller than the source: bodies over its limit wait for an operator, who raises it at this round. */
const SMALL_DLQ_BYTES = 2048;
const OPERATOR_ROUND = 30;
const OWN = new Set(['throttled', 'unavailable', 'unexpected']);
/** TASK_HEARTBEAT_MIN_INTERVAL_SECONDS in the runs: model time advances a second per receive round. */
const HEARTBEAT_INTERVAL = 10;

/** Every span the relay records (recording spans also put trace context into DLQ entries). */
let spans: InMemorySpanExporter;
beforeAll(async () => {
  spans = await captureSpans();
});

/** Everything a span carries that an exporter sends: name, attributes, events, status, links. */
function spanText(): string {
  return JSON.stringify(
    spans.getFinishedSpans().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
      status: s.status,
      links: s.links.map((l) => l.attributes),
    })),
  );
}

interface Scenario {
  fifo: boolean;
  /** The DLQ's MaximumMessageSize (the source's is MAX_BYTES). */
  dlqBytes: number;
  /** CALLBACK_KINDS besides failure. */
  kinds: CallbackKind[];
  messages: MessageSpec[];
  plans: Plan[];
  /** Refusals injected into the relay's SQS calls, in call order: true refuses (entry or call). */
  dlqRefusals: boolean[];
  deleteFailures: boolean[];
  handBackFailures: boolean[];
  /** Latency of the relay's visibility changes, in call order (ms). */
  visibilityLatency: number[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  fifo: fc.boolean(),
  dlqBytes: fc.constantFrom(MAX_BYTES, MAX_BYTES, SMALL_DLQ_BYTES),
  kinds: fc.subarray<CallbackKind>(['success', 'heartbeat']),
  messages: fc.array(messageSpec, { minLength: 1, maxLength: 12 }),
  plans: fc.array(plan, { minLength: 6, maxLength: 6 }),
  dlqRefusals: fc.array(fc.boolean(), { maxLength: 4 }),
  deleteFailures: fc.array(fc.boolean(), { maxLength: 3 }),
  handBackFailures: fc.array(fc.boolean(), { maxLength: 3 }),
  visibilityLatency: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })), { maxLength: 6 }),
});

const tokenOf = (run: number, i: number) => `tok_${run.toString(16).padStart(8, '0')}${String(i).repeat(32)}`;

/** Step Functions as generated: each token answers its plan, errors quoting the token as real ones may. */
function fakeSfn(plans: Map<string, Plan>, now: () => number) {
  const calls = new Map<string, number>();
  /** Terminal calls (failure, success) Step Functions accepted, per token. */
  const successes = new Map<string, number>();
  /** When each accepted heartbeat call was made (model time), per token. */
  const heartbeats = new Map<string, number[]>();
  const called = new Set<CallbackKind>();
  const send = async (event: CallbackEvent): Promise<SendResult> => {
    const at = now();
    called.add(event.kind);
    const p = plans.get(event.taskToken);
    const n = calls.get(event.taskToken) ?? 0;
    calls.set(event.taskToken, n + 1);
    const step = p?.prefix[n] ?? { answer: p?.terminal ?? { name: 'ok' }, slowMs: 0 };
    if (step.slowMs > 0) await sleep(step.slowMs);
    const a = step.answer;
    if (!('status' in a)) {
      if (event.kind === 'heartbeat') heartbeats.set(event.taskToken, [...(heartbeats.get(event.taskToken) ?? []), at]);
      else successes.set(event.taskToken, (successes.get(event.taskToken) ?? 0) + 1);
      return { ok: true, attempts: 1 };
    }
    const err = Object.assign(new Error(`Invalid Token: ${event.taskToken}`), {
      name: a.name,
      $metadata: { httpStatusCode: a.status, attempts: 3 },
    });
    return toSendResult(err, event.taskToken);
  };
  return { send, successes, heartbeats, called };
}

interface Finished {
  message_id: string;
  outcome: string;
  reason?: string;
  token_hash?: string;
  kind?: string;
}

async function runScenario(s: Scenario, run: number) {
  spans.reset();
  const model = new SqsModel();
  model.createQueue(SOURCE, { fifo: s.fifo, maxMessageBytes: MAX_BYTES });
  const dlqQueue = model.createQueue(DLQ, { fifo: s.fifo, maxMessageBytes: s.dlqBytes });
  const queues = { SendMessageBatch: [...s.dlqRefusals], DeleteMessageBatch: [...s.deleteFailures] };
  const handBacks = [...s.handBackFailures];
  const latencies = [...s.visibilityLatency];
  model.faults = {
    latencyMs: (op) => (op === 'ChangeMessageVisibilityBatch' ? (latencies.shift() ?? 0) : 0),
    decide: (op, _url, entry) => {
      if (op === 'ChangeMessageVisibilityBatch') return entry === 0 && handBacks.shift() ? 'InternalError' : undefined;
      const list = queues[op as keyof typeof queues];
      if (list === undefined || entry === 'call' || entry > 0) return undefined;
      const refuse = list.shift();
      return refuse ? (op === 'SendMessageBatch' ? 'KMS.AccessDeniedException' : 'InternalError') : undefined;
    },
  };
  const tokens = s.plans.map((_, i) => tokenOf(run, i));
  const bodies = new Set<string>();
  s.messages.forEach((spec, i) => {
    const { body, attributes } = build(spec, tokens[spec.token] ?? '', MAX_BYTES);
    model.produce(SOURCE, {
      MessageBody: body,
      ...(Object.keys(attributes).length === 0 ? {} : { MessageAttributes: attributes }),
      ...(s.fifo ? { MessageGroupId: `g${spec.group}`, MessageDeduplicationId: `d${i}` } : {}),
    });
    bodies.add(body);
  });
  const sfn = fakeSfn(new Map(s.plans.map((p, i) => [tokens[i] ?? '', p])), () => model.now);
  const lines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
  const metrics = createMetrics({ defaultMetrics: false });
  const relay = new Relay(
    {
      sourceQueueUrl: SOURCE,
      dlqUrl: DLQ,
      dlqMaxMessageBytes: s.dlqBytes,
      dlqFifo: s.fifo,
      visibilityTimeoutSeconds: VISIBILITY,
      heartbeatIntervalSeconds: 0.003,
      maxVisibilityExtensionSeconds: 3600,
      maxReceives: MAX_RECEIVES,
      retryBaseDelaySeconds: 1,
      retryMaxDelaySeconds: 60,
      dedupTtlSeconds: 3600,
      failureTtlSeconds: 86_400,
      taskHeartbeatMinIntervalSeconds: HEARTBEAT_INTERVAL,
      limits: { ...DEFAULT_LIMITS, kinds: new Set<CallbackKind>(['failure', ...s.kinds]) },
    },
    {
      sqs: model.client,
      send: sfn.send,
      dedup: new MemoryDedupStore({ now: () => model.now }),
      limiter: createLimiter({ perSecond: 0, redis: undefined, keyPrefix: 'p:', logger }),
      heartbeatLimiter: createLimiter({ perSecond: 0, redis: undefined, keyPrefix: 'p:', key: 'hb', logger }),
      breaker: new SendBreaker({ threshold: 4, halfOpenAfterMs: 1 }),
      metrics,
      logger,
      now: () => model.now,
    },
  );
  let rounds = 0;
  for (; rounds < MAX_ROUNDS; rounds += 1) {
    // The operator raises the DLQ's limit; the relay still holds the one it read at start-up.
    if (rounds === OPERATOR_ROUND) dlqQueue.maxMessageBytes = MAX_BYTES;
    const batch = model.receive(SOURCE, 10, VISIBILITY);
    if (batch.length === 0) {
      const next = model.nextVisibleAt(SOURCE);
      if (next === undefined) break;
      model.now = Math.max(model.now + 1000, next);
      continue;
    }
    await relay.handleBatch(batch);
    for (const m of batch) model.closed.add(m.ReceiptHandle ?? '');
    // A visibility extension still on the wire would land now, after the batch settled.
    await new Promise((resolve) => setImmediate(resolve));
    model.advance(1000);
  }
  const finished = lines
    .map((l) => JSON.parse(l) as Finished & { msg: string })
    .filter((l) => l.msg === 'message finished');
  const metricsText = await metrics.registry.metrics();
  return { model, sfn, lines, metricsText, spans: spanText(), finished, rounds, tokens, bodies };
}

function check(s: Scenario, r: Awaited<ReturnType<typeof runScenario>>): void {
  const source = r.model.queues.get(SOURCE);
  const dlq = r.model.queues.get(DLQ);
  // (a) Every message ends: deleted or dead-lettered, none left looping.
  expect(
    source?.messages.map((m) => `${m.id} receives ${m.receives}`),
    'messages left in the source queue',
  ).toEqual([]);
  // (b) Every call the relay made (DLQ sends, deletes, hand-backs, heartbeats) is one SQS accepts, but
  // for a body that alone is over a DLQ smaller than the source: sent with its minimal reason, "SQS decides".
  const overDlq = (v: string) => Number(/too long \(body (\d+) bytes\)/.exec(v)?.[1] ?? 0) > s.dlqBytes;
  expect(r.model.violations.filter((v) => !overDlq(v))).toEqual([]);
  // (c) At most one successful terminal call (SendTaskFailure or SendTaskSuccess) per token, and
  // accepted heartbeats of a token at least TASK_HEARTBEAT_MIN_INTERVAL_SECONDS apart.
  for (const [token, n] of r.sfn.successes) expect(n, `successes for ${token.slice(0, 12)}`).toBeLessThanOrEqual(1);
  for (const [token, times] of r.sfn.heartbeats) {
    for (let i = 1; i < times.length; i += 1) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
      expect(gap, `heartbeat gap for ${token.slice(0, 12)}`).toBeGreaterThanOrEqual(HEARTBEAT_INTERVAL * 1000);
    }
  }
  // (c') A kind that is not enabled is never called: a success or heartbeat is never sent as a failure.
  for (const kind of r.sfn.called) expect(['failure', ...s.kinds], 'kinds called').toContain(kind);
  // (d) No task token in a log line, a metric, a span (attributes, events, status, links) or a DLQ attribute.
  expect(r.spans).toContain('process source');
  const attributes = JSON.stringify((dlq?.messages ?? []).map((m) => m.attributes ?? {}));
  // `output` is sensitive like `cause`: only debug lines (level 20) may carry it.
  const aboveDebug = r.lines.filter((l) => (JSON.parse(l) as { level: number }).level > 20).join('\n');
  for (const [where, text] of [
    ['log above debug', aboveDebug],
    ['metrics', r.metricsText],
    ['spans', r.spans],
    ['dlq attributes', attributes],
  ]) {
    expect(text?.includes(OUTPUT_MARK), `output in ${where}`).toBe(false);
  }
  for (const token of r.tokens) {
    for (const [where, text] of [
      ['log', r.lines.join('\n')],
      ['metrics', r.metricsText],
      ['spans', r.spans],
      ['dlq attributes', attributes],
    ]) {
      expect(text?.includes(token), `token in ${where}`).toBe(false);
    }
  }
  // (a) … within the bound the README states: each receive that is not time-bounded (breaker open, a
  // busy claim, an interruption) is one of its token's generated outage answers, one of its own
  // failures (MAX_RECEIVES at most), an injected DLQ refusal or failed delete, or the last one.
  // A body over a smaller DLQ waits for the operator (OPERATOR_ROUND): those refusals are not counted.
  const injected = s.dlqRefusals.filter(Boolean).length + s.deleteFailures.filter(Boolean).length;
  const tooLarge = (f: Finished) => f.outcome === 'dlq_send_failed' && f.reason === 'InvalidParameterValue';
  s.messages.forEach((spec, i) => {
    const receives = r.finished.filter(
      (f) =>
        f.message_id === `m-${i + 1}` &&
        !['breaker_open', 'busy', 'interrupted'].includes(f.reason ?? '') &&
        !(s.dlqBytes < MAX_BYTES && tooLarge(f)),
    ).length;
    const bound = (s.plans[spec.token]?.prefix.length ?? 0) + MAX_RECEIVES + injected + 1;
    expect(receives, `receives of m-${i + 1} (${spec.kind})`).toBeLessThanOrEqual(bound);
  });
  // (e) Each cause ends under its bound: a token's own failures hand it back at most MAX_RECEIVES − 1
  // times; blameless answers and injected refusals only as often as they were generated.
  const own = r.finished.filter((f) => f.outcome === 'retry_later' && OWN.has(f.reason ?? ''));
  const byToken = new Map<string, number>();
  // Counted per token, a token's heartbeats apart from its terminal callbacks (deliver.ts).
  for (const f of own) {
    const key = `${f.token_hash ?? ''}${f.kind === 'heartbeat' ? ' heartbeat' : ''}`;
    byToken.set(key, (byToken.get(key) ?? 0) + 1);
  }
  for (const [hash, n] of byToken) expect(n, `own failures handed back for ${hash}`).toBeLessThan(MAX_RECEIVES);
  const unauthorized = r.finished.filter((f) => f.reason === 'unauthorized').length;
  const generated = s.plans.flatMap((p) => p.prefix).filter((p) => /Denied|Expired/.test(p.answer.name)).length;
  expect(unauthorized).toBeLessThanOrEqual(generated);
  const refused = r.finished.filter((f) => f.outcome === 'dlq_send_failed' && !tooLarge(f)).length;
  expect(refused).toBeLessThanOrEqual(s.dlqRefusals.filter(Boolean).length);
  // Dead-lettered: the body byte for byte, the reason with it unless the log says it did not fit.
  // A warning names each DLQ send that went without its reason; count those that were accepted.
  let dropped = 0;
  const pending = new Set<string>();
  for (const l of r.lines.map((line) => JSON.parse(line) as Finished & { msg: string })) {
    if (l.msg.includes('without its reason attribute')) pending.add(l.message_id);
    if (l.msg !== 'message finished' || !pending.delete(l.message_id)) continue;
    if (l.outcome === 'dead_lettered') dropped += 1;
  }
  const withoutReason = (dlq?.messages ?? []).filter(
    (m) => readDeadLetterInfo({ MessageAttributes: m.attributes }) === undefined,
  );
  if (process.env.PROPERTY_DEBUG) console.log(r.lines.join('\n'), JSON.stringify(dlq?.messages));
  // Fewer when a FIFO DLQ took a second copy (a failed delete) as a duplicate.
  expect(withoutReason.length).toBeLessThanOrEqual(dropped);
  if (dropped > 0) expect(withoutReason.length).toBeGreaterThan(0);
  for (const m of dlq?.messages ?? []) expect(r.bodies.has(m.body)).toBe(true);
}

describe('every message reaches an end (property, against a model of SQS)', () => {
  it(`holds for generated bodies, attributes and endpoint answers (${RUNS} runs)`, async () => {
    let run = 0;
    let rounds = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        run += 1;
        const r = await runScenario(s, run);
        rounds = Math.max(rounds, r.rounds);
        check(s, r);
      }),
      {
        numRuns: RUNS,
        ...(SEED === undefined ? {} : { seed: SEED }),
        ...(process.env.PROPERTY_PATH === undefined ? {} : { path: process.env.PROPERTY_PATH }),
        endOnFailure: process.env.PROPERTY_SHRINK === '0',
      },
    );
    expect(rounds).toBeLessThan(MAX_ROUNDS);
  }, 600_000);
});
