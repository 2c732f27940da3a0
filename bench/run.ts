/**
 * `npm run bench [-- --quick] [-- --n 20000 --repeats 2]`
 *
 * Throughput, API calls, CPU and memory of the relay side by side with the plain sqs-consumer
 * setups and the bare ceiling, all draining the same preloaded queue in the same run. The SQS
 * emulator, the always-200 Step Functions sink and the consumer under test each run in a process of
 * their own; requests are counted at the SQS endpoint and at the sink; CPU and peak RSS are read
 * from /proc for the consumer process. Variants alternate order on each repeat; figures are medians.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseEvent } from '../src/core/event.js';
import { requireBinary } from '../test/support/binaries.js';
import { startRedisCluster } from '../test/support/redisCluster.js';
import { startRedisServer } from '../test/support/redisServer.js';
import { renderChart } from './chart.js';
import { end, failIfItDies, onEnd, track } from './children.js';
import { type DedupRow, dedupRow, type StartupRow, startupRows } from './lean.js';
import { type BytesRow, bytesRow } from './redisMemory.js';
import { batchSizeFor, type Callback, events, token } from './workload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const QUICK = flag('quick');
const N = option('n', QUICK ? 2000 : 20_000);
const REPEATS = option('repeats', QUICK ? 1 : 2);
// The naive consumer does ~300 events/s: it drains a smaller queue so the run stays short; its
// events/s is still a drain rate.
const NAIVE_N = Math.min(N, QUICK ? 300 : 2000);
// `--only relay` runs the variants whose name contains the text; `--profile` writes a CPU profile
// of each relay process to bench/results/prof/.
const ONLY = args.includes('--only') ? String(args[args.indexOf('--only') + 1]) : undefined;
const PROFILE = flag('profile');
// Where latest.json and latest.svg go. Quick runs never overwrite the committed full-run results.
const OUT = args.includes('--out')
  ? String(args[args.indexOf('--out') + 1])
  : `${ROOT}bench/results${QUICK ? '/quick' : ''}`;
const CLK_TCK = 100;
// Whether the relay under test relays successes: its own parser says a body with `output` is one.
const RELAYS_SUCCESS =
  (parseEvent(JSON.stringify({ taskToken: 't', output: '{}' })) as { event?: { kind?: string } }).event?.kind ===
  'success';

process.env.AWS_ACCESS_KEY_ID ??= 'bench';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';

// ---------------------------------------------------------------- child processes over IPC

interface Child {
  proc: ChildProcess;
  port: number;
  ask<T>(type: string, extra?: object): Promise<T>;
}

function startChild(script: string): Promise<Child> {
  const proc = track(
    fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  let next = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  proc.on('message', (m: { id?: number; reply?: unknown }) => {
    if (m.id !== undefined) waiting.get(m.id)?.(m.reply);
  });
  return new Promise((resolve, reject) => {
    // A child that dies while starting (fauxqs on a Node older than 22.5) fails the run instead of a hang.
    const early = (code: number | null) => reject(new Error(`${script} exited (code ${code}) before it was ready`));
    proc.once('exit', early);
    proc.once('message', (m: { port: number }) => {
      proc.off('exit', early);
      resolve({
        proc,
        port: m.port,
        ask: <T>(type: string, extra: object = {}) =>
          new Promise<T>((r) => {
            next += 1;
            waiting.set(next, r as (v: unknown) => void);
            proc.send({ id: next, type, ...extra });
          }),
      });
    });
  });
}

/** utime + stime of a process, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Peak resident set size of a process, in MiB (VmHWM). */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis servers of the bench's own (standalone and a cluster), when redis-server is installed. */
async function startRedisServers(): Promise<
  { standalone: string; cluster: string; stop: () => Promise<void> } | undefined
> {
  try {
    requireBinary('redis-server');
    requireBinary('redis-cli');
  } catch (err) {
    process.stderr.write(`no Redis variants: ${(err as Error).message}\n`);
    return undefined;
  }
  const [standalone, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
  return {
    standalone: standalone.url,
    cluster: cluster.url,
    stop: async () => {
      await Promise.all([standalone.kill(), cluster.stop()]);
    },
  };
}

// ---------------------------------------------------------------- workload

async function preload(sqs: SQSClient, queueUrl: string, bodies: string[]): Promise<void> {
  let next = 0;
  const size = batchSizeFor(bodies);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (;;) {
        const start = next;
        next += size;
        if (start >= bodies.length) return;
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: bodies.slice(start, start + size).map((b, j) => ({ Id: String(j), MessageBody: b })),
          }),
        );
      }
    }),
  );
}

// ---------------------------------------------------------------- variants

interface Variant {
  name: string;
  kind: 'naive' | 'parallel' | 'ceiling' | 'relay';
  instances?: number;
  dupShare: number;
  redis?: 'standalone' | 'cluster';
  /** Default on; off shows what tracing every message costs. */
  tracing?: boolean;
  /** Default: failures. Successes need CALLBACK_KINDS=failure,success and are counted as SendTaskSuccess calls. */
  callback?: Callback;
  /** Events for this variant when not N (large outputs: the queue holds them all at once). */
  events?: number;
}

interface Run {
  variant: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  sqsRequestsPerEvent: number;
  sqsRequests: Record<string, number>;
  sendTaskFailureCallsPerUniqueToken: number;
  cpuMsPerEvent: number;
  peakRssMiB: number;
}

/**
 * Node flags of the relay process: as the Helm chart runs it with its default 256Mi memory limit
 * (its NODE_OPTIONS). BENCH_RELAY_NODE_FLAGS replaces them (GC tuning experiments).
 */
const RELAY_FLAGS = (process.env.BENCH_RELAY_NODE_FLAGS ?? '--max-semi-space-size=8 --max-old-space-size=128')
  .split(' ')
  .filter(Boolean);

let sqsChild: Child;
let redisUrls: { standalone: string; cluster: string; stop: () => Promise<void> } | undefined;
let sink: Child;
let sqs: SQSClient;
let queueCounter = 0;

async function freePortNumber(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

async function startConsumer(v: Variant, queueUrl: string): Promise<{ proc: ChildProcess; stop: () => void }> {
  const sqsEndpoint = `http://127.0.0.1:${sqsChild.port}`;
  const sinkEndpoint = `http://127.0.0.1:${sink.port}`;
  if (v.kind !== 'relay') {
    const proc = track(
      fork(`${ROOT}bench/peers.ts`, [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          VARIANT: v.kind,
          INSTANCES: String(v.instances ?? 8),
          QUEUE_URL: queueUrl,
          SQS_ENDPOINT: sqsEndpoint,
          SFN_ENDPOINT: sinkEndpoint,
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    const release = failIfItDies(proc, `the ${v.name} consumer`);
    await new Promise((resolve) => proc.once('message', resolve));
    return {
      proc,
      stop: () => {
        release();
        proc.kill('SIGKILL');
      },
    };
  }
  const port = await freePortNumber();
  const profile = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${ROOT}bench/results/prof`] : [];
  const flags = RELAY_FLAGS;
  const proc = track(
    spawn(process.execPath, [...flags, ...profile, `${ROOT}dist/main.js`], {
      env: {
        ...process.env,
        SOURCE_QUEUE_URL: queueUrl,
        DLQ_URL: `${queueUrl}-dlq`,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_SQS: sqsEndpoint,
        AWS_ENDPOINT_URL_SFN: sinkEndpoint,
        HTTP_PORT: String(port),
        LOG_LEVEL: 'warn',
        WAIT_TIME_SECONDS: '1',
        // Telemetry on: every message traced, exported over OTLP/HTTP to the sink's no-op collector.
        OTEL_TRACES_EXPORTER: v.tracing === false ? 'none' : 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkEndpoint,
        // The account quota is not what is measured here.
        SFN_RATE_LIMIT_PER_SECOND: '0',
        ...(v.callback?.kind === 'success' ? { CALLBACK_KINDS: 'failure,success' } : {}),
        ...(v.redis === undefined || redisUrls === undefined
          ? {}
          : {
              REDIS_URL: v.redis === 'cluster' ? redisUrls.cluster : redisUrls.standalone,
              REDIS_CLUSTER: String(v.redis === 'cluster'),
              DEDUP_KEY_PREFIX: `bench:${Date.now()}:`,
            }),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const release = failIfItDies(proc, `the relay (${v.name})`);
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  // SIGTERM, so that a CPU profile is written on the way out.
  return {
    proc,
    stop: () => {
      release();
      proc.kill(PROFILE ? 'SIGTERM' : 'SIGKILL');
    },
  };
}

async function runOne(v: Variant, n: number): Promise<Run> {
  queueCounter += 1;
  const name = `bench-${queueCounter}`;
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { bodies, unique } = events(n, v.dupShare, v.callback);
  await preload(sqs, queueUrl, bodies);
  await sqsChild.ask('reset');
  await sink.ask('reset');

  const consumer = await startConsumer(v, queueUrl);
  const pid = consumer.proc.pid ?? 0;
  await sqsChild.ask('reset'); // the relay's start-up check is not part of the work
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  while ((await sqsChild.ask<number>('depth', { name })) > 0) await sleep(20);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs(pid) - cpu0;
  const rss = peakRssMiB(pid);
  const requests = await sqsChild.ask<Record<string, number>>('counts');
  const stats = await sink.ask<{ calls: number; uniqueTokens: number; byOperation: Record<string, number> }>('stats');
  consumer.stop();
  await new Promise((r) => consumer.proc.once('exit', r));
  const operation = v.callback?.kind === 'success' ? 'SendTaskSuccess' : 'SendTaskFailure';
  if ((stats.byOperation[operation] ?? 0) !== stats.calls) {
    throw new Error(`${v.name}: expected only ${operation} calls, the sink saw ${JSON.stringify(stats.byOperation)}`);
  }
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  return {
    variant: v.name,
    events: n,
    seconds,
    eventsPerSecond: n / seconds,
    sqsRequestsPerEvent: total / n,
    sqsRequests: requests,
    sendTaskFailureCallsPerUniqueToken: stats.calls / unique,
    cpuMsPerEvent: cpu / n,
    peakRssMiB: rss,
  };
}

/** Publish at a steady rate into a running relay; latency = arrival at the sink − publish. */
async function latencyRun(
  rate: number,
  seconds: number,
): Promise<{ rate: number; p50: number; p95: number; p99: number; samples: number; firstSecondP99: number }> {
  queueCounter += 1;
  const name = `bench-${queueCounter}`;
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  await sink.ask('reset');
  const consumer = await startConsumer({ name: 'relay', kind: 'relay', dupShare: 0 }, queueUrl);
  const published = new Map<string, number>();
  const warmup = new Map<string, number>();
  // The first second warms the relay up (JIT, connection pools) and is not measured.
  const warmupBatches = Math.round(rate / 10);
  const batches = warmupBatches + Math.round((rate * seconds) / 10);
  const interval = 10_000 / rate;
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let b = 0; b < batches; b += 1) {
    const due = start + b * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const tokens = Array.from({ length: 10 }, token);
    const at = performance.timeOrigin + performance.now();
    for (const t of tokens) (b >= warmupBatches ? published : warmup).set(t, at);
    sends.push(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: tokens.map((t, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify({ taskToken: t, error: 'Latency' }),
          })),
        }),
      ),
    );
  }
  await Promise.all(sends);
  while ((await sqsChild.ask<number>('depth', { name })) > 0) await sleep(20);
  const arrivals = await sink.ask<Record<string, number>>('arrivals');
  consumer.stop();
  const sorted = (m: Map<string, number>) =>
    [...m]
      .map(([t, at]) => (arrivals[t] === undefined ? Number.NaN : (arrivals[t] as number) - at))
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
  const latencies = sorted(published);
  const cold = sorted(warmup);
  const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;
  return {
    rate,
    p50: q(latencies, 0.5),
    p95: q(latencies, 0.95),
    p99: q(latencies, 0.99),
    samples: latencies.length,
    firstSecondP99: q(cold, 0.99),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function fmt(x: number, digits = 0): string {
  return Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';
}

/**
 * The success path beside the failure rows: outputs of 1 KiB and 200 KiB (fewer events: the queue
 * holds them all at once). Only when this build's relay reads a body's kind (issue 25's relay side).
 */
function successVariants(): Variant[] {
  if (!RELAYS_SUCCESS) {
    process.stderr.write('no success rows: this build of the relay does not relay successes\n');
    return [];
  }
  const success = (outputBytes: number): Callback => ({ kind: 'success', outputBytes });
  return [
    { name: 'relay success (1 KiB output)', kind: 'relay', dupShare: 0, callback: success(1024) },
    {
      name: 'relay success (200 KiB output)',
      kind: 'relay',
      dupShare: 0,
      callback: success(200 * 1024),
      events: Math.min(N, QUICK ? 100 : 1000),
    },
  ];
}

async function main(): Promise<void> {
  const started = Date.now();
  [sqsChild, sink] = await Promise.all([startChild(`${ROOT}bench/sqsServer.ts`), startChild(`${ROOT}bench/sink.ts`)]);
  failIfItDies(sqsChild.proc, 'the SQS emulator');
  failIfItDies(sink.proc, 'the Step Functions sink');
  sqs = new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${sqsChild.port}` });
  // Stopped on the way out even when the run ends while they are still starting.
  const redisStarting = startRedisServers();
  onEnd(async () => (await redisStarting)?.stop());
  redisUrls = await redisStarting;
  const withRedis = redisUrls !== undefined;
  const variants: Variant[] = [
    { name: 'naive', kind: 'naive', dupShare: 0 },
    ...(QUICK ? [] : [{ name: 'parallel sqs-consumer ×4', kind: 'parallel' as const, instances: 4, dupShare: 0 }]),
    { name: 'parallel sqs-consumer ×8', kind: 'parallel', instances: 8, dupShare: 0 },
    { name: 'ceiling', kind: 'ceiling', instances: 8, dupShare: 0 },
    { name: 'relay (memory, 0% dup)', kind: 'relay', dupShare: 0 },
    { name: 'relay (memory, 20% dup)', kind: 'relay', dupShare: 0.2 },
    ...(QUICK ? [] : [{ name: 'relay (memory, 0%, no tracing)', kind: 'relay' as const, dupShare: 0, tracing: false }]),
    ...successVariants(),
    ...(withRedis
      ? [
          ...(QUICK
            ? []
            : [{ name: 'relay (redis, 0% dup)', kind: 'relay' as const, dupShare: 0, redis: 'standalone' as const }]),
          { name: 'relay (redis, 20% dup)', kind: 'relay' as const, dupShare: 0.2, redis: 'standalone' as const },
          ...(QUICK
            ? []
            : [
                {
                  name: 'relay (redis cluster, 20% dup)',
                  kind: 'relay' as const,
                  dupShare: 0.2,
                  redis: 'cluster' as const,
                },
              ]),
        ]
      : []),
  ];
  if (ONLY !== undefined) variants.splice(0, variants.length, ...variants.filter((v) => v.name.includes(ONLY)));
  const runs: Run[] = [];
  const totalRuns = variants.length * REPEATS;
  for (let r = 0; r < REPEATS; r += 1) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      process.stderr.write(`\r[${runs.length + 1}/${totalRuns}] repeat ${r + 1}: ${v.name.padEnd(28)}`);
      runs.push(await runOne(v, v.events ?? (v.kind === 'naive' ? NAIVE_N : N)));
    }
  }
  process.stderr.write(`${'\r'.padEnd(60)}\r`);

  const summary = variants.map((v) => {
    const mine = runs.filter((x) => x.variant === v.name);
    return {
      variant: v.name,
      events: mine[0]?.events ?? 0,
      eventsPerSecond: median(mine.map((x) => x.eventsPerSecond)),
      sqsRequestsPerEvent: median(mine.map((x) => x.sqsRequestsPerEvent)),
      sendTaskFailureCallsPerUniqueToken: median(mine.map((x) => x.sendTaskFailureCallsPerUniqueToken)),
      cpuMsPerEvent: median(mine.map((x) => x.cpuMsPerEvent)),
      peakRssMiB: median(mine.map((x) => x.peakRssMiB)),
    };
  });
  const get = (name: string) => summary.find((s) => s.variant === name);
  const relay = get('relay (memory, 0% dup)');
  const parallelBest = [get('parallel sqs-consumer ×4'), get('parallel sqs-consumer ×8')]
    .filter((s) => s !== undefined)
    .sort((a, b) => (b?.eventsPerSecond ?? 0) - (a?.eventsPerSecond ?? 0))[0];
  const ceiling = get('ceiling');
  const naive = get('naive');

  process.stderr.write('[latency] relay at half its capacity…\n');
  const latency = await latencyRun(Math.max(50, Math.round((relay?.eventsPerSecond ?? 1000) / 2)), QUICK ? 2 : 5);

  const runLean = ONLY === undefined || 'lean'.includes(ONLY) || ONLY.includes('lean');
  let lean: { startup: StartupRow[]; dedup: DedupRow } | undefined;
  if (runLean) {
    process.stderr.write('[lean] start-up and idle memory, dedup store at 1M…\n');
    queueCounter += 1;
    const leanQueue = (await sqs.send(new CreateQueueCommand({ QueueName: `bench-${queueCounter}` }))).QueueUrl ?? '';
    await sqs.send(new CreateQueueCommand({ QueueName: `bench-${queueCounter}-dlq` }));
    const startup = await startupRows(
      `${ROOT}dist/main.js`,
      RELAY_FLAGS,
      {
        SOURCE_QUEUE_URL: leanQueue,
        DLQ_URL: `${leanQueue}-dlq`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${sqsChild.port}`,
        AWS_ENDPOINT_URL_SFN: `http://127.0.0.1:${sink.port}`,
      },
      `http://127.0.0.1:${sink.port}`,
      QUICK ? 3 : 5,
    );
    lean = { startup, dedup: await dedupRow(QUICK ? 200_000 : 1_000_000) };
  }

  const runBytes = ONLY === undefined || 'bytes'.includes(ONLY) || ONLY.includes('bytes');
  let bytes: BytesRow | undefined;
  if (runBytes && redisUrls !== undefined) {
    process.stderr.write('[bytes] bytes per done token: memory, Redis standalone and cluster…\n');
    const measured = lean === undefined ? undefined : (lean.dedup.tableMiB * 1024 * 1024) / lean.dedup.entries;
    bytes = await bytesRow(redisUrls, QUICK ? 100_000 : 400_000, measured);
  }

  const ratios = {
    relayVsNaive: (relay?.eventsPerSecond ?? 0) / (naive?.eventsPerSecond ?? 1),
    relayVsParallelBest: (relay?.eventsPerSecond ?? 0) / (parallelBest?.eventsPerSecond ?? 1),
    relayVsCeiling: (relay?.eventsPerSecond ?? 0) / (ceiling?.eventsPerSecond ?? 1),
    relayRssVsCeilingRss: (relay?.peakRssMiB ?? 0) / (ceiling?.peakRssMiB ?? 1),
  };

  const header = [
    'variant'.padEnd(28),
    'events',
    'events/s',
    'SQS req/event',
    'SFN calls/token',
    'CPU ms/event',
    'peak RSS MiB',
  ];
  const lines = [
    header.join('  '),
    ...summary.map((s) =>
      [
        s.variant.padEnd(28),
        fmt(s.events).padStart(6),
        fmt(s.eventsPerSecond).padStart(8),
        fmt(s.sqsRequestsPerEvent, 3).padStart(13),
        fmt(s.sendTaskFailureCallsPerUniqueToken, 3).padStart(15),
        fmt(s.cpuMsPerEvent, 3).padStart(12),
        fmt(s.peakRssMiB, 0).padStart(12),
      ].join('  '),
    ),
    '',
    `relay vs naive ${fmt(ratios.relayVsNaive, 2)}×, vs best parallel sqs-consumer ${fmt(ratios.relayVsParallelBest, 2)}×, vs ceiling ${fmt(ratios.relayVsCeiling, 2)}×; relay RSS / ceiling RSS ${fmt(ratios.relayRssVsCeilingRss, 2)}`,
    ...(lean === undefined
      ? []
      : [
          ...lean.startup.map(
            (r) =>
              `start → ready, tracing ${r.tracing}: median ${r.medianReadyMs} ms (${r.readyMs.join(', ')}); idle RSS ${r.idleRssMiB} MiB`,
          ),
          `dedup store, ${lean.dedup.entries.toLocaleString('en-US')} done-records: ${lean.dedup.tableMiB} MiB of typed arrays, ${lean.dedup.heapAddedMiB} MiB added to heap + array buffers; longest sweep call ${lean.dedup.longestSweepPauseMs} ms, event-loop max delay ${lean.dedup.eventLoopMaxDelayMs} ms while they expire`,
        ]),
    ...(bytes === undefined
      ? []
      : [
          `bytes per done token (${bytes.tokens.toLocaleString('en-US')} tokens): in process ${bytes.memory}, Redis standalone ${bytes.standalone}, Redis cluster ${bytes.cluster} (used_memory growth; the key layout before: ${bytes.standaloneLayoutBefore})`,
        ]),
    `latency publish → SendTaskFailure at ${latency.rate}/s (${latency.samples} events): p50 ${fmt(latency.p50, 1)} ms, p95 ${fmt(latency.p95, 1)} ms, p99 ${fmt(latency.p99, 1)} ms (first, warm-up second: p99 ${fmt(latency.firstSecondP99, 1)} ms)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string> };
  const result = {
    when: new Date().toISOString(),
    settings: {
      n: N,
      naiveN: NAIVE_N,
      repeats: REPEATS,
      quick: QUICK,
      redis: withRedis,
      telemetry: 'OTLP/HTTP to a local no-op collector, every message sampled',
      logLevel: 'warn',
      rateLimit: 'off',
    },
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
    versions: pkg.dependencies,
    summary,
    ratios,
    latency,
    lean,
    bytesPerDoneToken: bytes,
    relayNodeFlags: RELAY_FLAGS,
    runs,
    seconds: (Date.now() - started) / 1000,
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}/latest.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${OUT}/latest.svg`, renderChart(summary));
  process.stdout.write(`wrote ${OUT}/latest.json and latest.svg in ${result.seconds.toFixed(0)} s\n`);
  await end(0);
}

main().catch((err: unknown) => end(1, `bench failed: ${(err as Error)?.stack ?? String(err)}\n`));
