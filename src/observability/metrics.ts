import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { CALLBACK_KINDS } from '../core/kinds.js';
import type { BreakerState, StoreKind } from '../core/modes.js';
import { DEAD_LETTER_REASONS, RETRY_CAUSES } from '../core/outcome.js';

/**
 * Prometheus metrics, through prom-client: the registry is scraped synchronously on `/metrics`,
 * it brings the process metrics (CPU, RSS, event-loop lag, GC) an operator wants beside ours, and
 * recording a sample costs a map lookup on the hot path. Labels are bounded sets only: no message
 * ids, no tokens, no free-text error messages.
 */
export interface Metrics {
  readonly registry: Registry;
  received: Counter<never>;
  finished: Counter<'outcome' | 'reason' | 'kind'>;
  sendCalls: Counter<'result' | 'kind'>;
  sendDuration: Histogram<'result' | 'kind'>;
  lag: Histogram<'outcome'>;
  inFlight: Gauge<never>;
  breakerState: Gauge<'state'>;
  rateLimitWaits: Counter<never>;
  rateLimitWaitSeconds: Counter<never>;
  dedupStore: Gauge<'store'>;
  sqsErrors: Counter<'operation'>;
  /** DLQ entries that gave up some of the relay's additions to fit the DLQ's size, by the last one given up. */
  dlqTrimmed: Counter<'trim'>;
  redisCommandErrors: Counter<'code' | 'where'>;
  telemetryExportFailures: Counter<never>;
  /** Memory heartbeat gates dropped unexpired at MAX_HEARTBEAT_GATES (each may cost one extra call). */
  heartbeatGatesEvicted: Counter<never>;
  /** Unix time of the last receive that answered (with or without messages). */
  lastReceive: Gauge<never>;
  /** 1 when REDIS_URL is set: the shared mode is expected (alerts use it). */
  redisConfigured: Gauge<never>;
  rateLimiterMode: Gauge<'mode'>;
  setRateLimiterMode(mode: 'shared' | 'local' | 'off'): void;
  setBreaker(state: BreakerState): void;
  /** The heartbeats' own breaker (never pauses intake). */
  setHeartbeatBreaker(state: BreakerState): void;
  setDedupStore(kind: StoreKind): void;
}

/** Error names used as label values; anything else is reported as `other`. */
const KNOWN_RESULTS = new Set([
  'ok',
  'TaskTimedOut',
  'InvalidToken',
  'TaskDoesNotExist',
  'ValidationException',
  'InvalidParameterValue',
  'ThrottlingException',
  'KmsThrottlingException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'KmsAccessDeniedException',
  'KmsInvalidStateException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'AbortError',
]);

export function resultLabel(errorName: string | undefined, httpStatus?: number): string {
  if (errorName === undefined) return 'ok';
  if (KNOWN_RESULTS.has(errorName)) return errorName;
  return httpStatus !== undefined && httpStatus >= 500 ? 'server_error' : 'other';
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'sfn_relay_' });
  const registers = [registry];
  const breakerGauge = (name: string, around: string) =>
    new Gauge({
      name,
      help: `Circuit breaker around ${around}: 1 for the current state (closed, open, half_open)`,
      labelNames: ['state'] as const,
      registers,
    });
  const breakerState = breakerGauge('sfn_relay_circuit_breaker_state', 'SendTaskFailure');
  const heartbeatBreakerState = breakerGauge(
    'sfn_relay_heartbeat_breaker_state',
    'SendTaskHeartbeat (never pauses intake)',
  );
  const dedupStore = new Gauge({
    name: 'sfn_relay_dedup_store',
    help: 'Dedup store answering now: 1 for redis or memory',
    labelNames: ['store'] as const,
    registers,
  });
  const rateLimiterMode = new Gauge({
    name: 'sfn_relay_rate_limiter_mode',
    help: 'Rate limit toward Step Functions: 1 for shared (in Redis, all replicas), local (this process only: Redis unreachable or not configured) or off',
    labelNames: ['mode'] as const,
    registers,
  });
  const metrics: Metrics = {
    registry,
    received: new Counter({
      name: 'sfn_relay_messages_received_total',
      help: 'Messages received from the source queue',
      registers,
    }),
    finished: new Counter({
      name: 'sfn_relay_messages_finished_total',
      help: 'Messages finished, by outcome (failed, succeeded, heartbeat_sent, heartbeat_coalesced, already_closed, duplicate, dead_lettered, retry_later, dlq_send_failed), reason and callback kind (failure, success, heartbeat; empty when the body did not say)',
      labelNames: ['outcome', 'reason', 'kind'] as const,
      registers,
    }),
    sendCalls: new Counter({
      name: 'sfn_relay_send_task_failure_calls_total',
      help: 'Step Functions callback calls (SendTaskFailure, SendTaskSuccess, SendTaskHeartbeat by kind; after the SDK retries), by result and kind',
      labelNames: ['result', 'kind'] as const,
      registers,
    }),
    sendDuration: new Histogram({
      name: 'sfn_relay_send_task_failure_duration_seconds',
      help: 'Step Functions callback call latency including SDK retries, by result and kind',
      labelNames: ['result', 'kind'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    lag: new Histogram({
      name: 'sfn_relay_event_lag_seconds',
      help: 'Time from the message being sent to the queue (SentTimestamp) to its outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    inFlight: new Gauge({
      name: 'sfn_relay_messages_in_flight',
      help: 'Messages received and not yet finished',
      registers,
    }),
    breakerState,
    rateLimitWaits: new Counter({
      name: 'sfn_relay_rate_limiter_waits_total',
      help: 'Step Functions callback calls (every kind) that waited for their rate limiter',
      registers,
    }),
    rateLimitWaitSeconds: new Counter({
      name: 'sfn_relay_rate_limiter_wait_seconds_total',
      help: 'Total time Step Functions callback calls (every kind) waited for their rate limiter',
      registers,
    }),
    dedupStore,
    sqsErrors: new Counter({
      name: 'sfn_relay_sqs_errors_total',
      help: 'Failed SQS calls, by operation',
      labelNames: ['operation'] as const,
      registers,
    }),
    dlqTrimmed: new Counter({
      name: 'sfn_relay_dlq_trimmed_total',
      help: "DLQ entries fitted to the DLQ's maximum size, by the last addition given up (reason: the body went alone)",
      labelNames: ['trim'] as const,
      registers,
    }),
    redisCommandErrors: new Counter({
      name: 'sfn_relay_redis_command_errors_total',
      help: 'Commands Redis refused (a bug or a configuration error, never a fallback), by Redis error code and by user (dedup, rate_limit)',
      labelNames: ['code', 'where'] as const,
      registers,
    }),
    telemetryExportFailures: new Counter({
      name: 'sfn_relay_telemetry_export_failures_total',
      help: 'Batches of spans the trace exporter could not deliver (collector down, refused, timed out)',
      registers,
    }),
    heartbeatGatesEvicted: new Counter({
      name: 'sfn_relay_heartbeat_gates_evicted_total',
      help: 'In-process heartbeat gates dropped before their interval ended to stay within 20,000 (each may let one extra heartbeat call through)',
      registers,
    }),
    lastReceive: new Gauge({
      name: 'sfn_relay_last_receive_timestamp_seconds',
      help: 'Unix time of the last receive from the source queue that answered (messages or none)',
      registers,
    }),
    redisConfigured: new Gauge({
      name: 'sfn_relay_redis_configured',
      help: '1 when REDIS_URL is set (dedup and the rate limit are meant to be shared)',
      registers,
    }),
    rateLimiterMode,
    setRateLimiterMode(mode) {
      for (const m of ['shared', 'local', 'off']) rateLimiterMode.set({ mode: m }, m === mode ? 1 : 0);
    },
    setBreaker(state) {
      setState(breakerState, state);
    },
    setHeartbeatBreaker(state) {
      setState(heartbeatBreakerState, state);
    },
    setDedupStore(kind) {
      for (const k of ['memory', 'redis']) dedupStore.set({ store: k }, k === kind ? 1 : 0);
    },
  };
  metrics.setBreaker('closed');
  metrics.setHeartbeatBreaker('closed');
  zeroSeries(metrics);
  return metrics;
}

/** One breaker gauge: 1 for the current state, 0 for the others. */
function setState(gauge: Gauge<'state'>, state: BreakerState): void {
  for (const s of ['closed', 'open', 'half_open']) gauge.set({ state: s }, 0);
  gauge.set({ state: state === 'halfOpen' ? 'half_open' : state }, 1);
}

/**
 * Every bounded series an alert takes `rate()` of, exported at 0 from the start: a counter that
 * first appears at 1 has no increase to Prometheus, so the first poison message after a restart
 * would never fire an alert. (DLQ refusals carry the AWS code and are left to appear.)
 */
function zeroSeries(m: Metrics): void {
  for (const kind of ['', ...CALLBACK_KINDS]) {
    for (const reason of DEAD_LETTER_REASONS) m.finished.inc({ outcome: 'dead_lettered', reason, kind }, 0);
    for (const reason of RETRY_CAUSES) m.finished.inc({ outcome: 'retry_later', reason, kind }, 0);
  }
  for (const kind of CALLBACK_KINDS) {
    for (const result of [...KNOWN_RESULTS, 'server_error', 'other']) m.sendCalls.inc({ result, kind }, 0);
  }
}
