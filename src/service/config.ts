/**
 * The environment → typed, validated settings; every error names its variable. Validated with
 * valibot rather than zod: the same schema model, and measured here ~5 ms to load against ~45 ms,
 * which matters to a relay that should be ready in 300 ms after KEDA scales it from zero.
 */
import * as v from 'valibot';
import { type AdmissionSettings, admissionFromEnv } from '../admission/settings.js';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { ConfigError } from '../core/errors.js';
import { CALLBACK_KINDS, type CallbackKind, isCallbackKind } from '../core/kinds.js';
import type { RedisSettings } from '../state/redis.js';

/** Any URL the WHATWG parser accepts with one of `protocols` (emulator hosts such as `sqs.us-east-1.127.0.0.1` included). */
const urlOf = (...protocols: string[]) =>
  v.pipe(
    v.string(),
    v.check(
      (x) => protocols.includes(URL.parse(x)?.protocol ?? ''),
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    ),
  );
// Queue URLs are only ever sent as a parameter, never parsed: emulators hand out hosts such as
// `sqs.us-east-1.127.0.0.1` that the WHATWG parser refuses, so the check is on the shape.
const queueUrl = v.pipe(
  v.string('is required'),
  v.regex(/^https?:\/\/[^\s/]+\/\S+$/, 'must look like https://sqs.<region>.amazonaws.com/<account>/<queue>'),
);
const int = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.transform(Number),
      v.number('must be a number'),
      v.integer('must be a whole number'),
      v.minValue(min, `must be at least ${min}`),
      v.maxValue(max, `must be at most ${max}`),
    ),
    String(fallback),
  );
const oneOf = <const T extends readonly [string, ...string[]]>(options: T, fallback: T[number]) =>
  v.optional(v.picklist(options, `must be one of ${options.join(', ')}`), fallback);

/**
 * Every setting the service reads, with its default. docs/configuration.md's table is tested
 * against this schema (test/unit/docs.test.ts). Empty values count as unset.
 */
const schema = v.object({
  SOURCE_QUEUE_URL: queueUrl,
  DLQ_URL: queueUrl,
  REDIS_URL: v.optional(urlOf('redis:', 'rediss:')),
  REDIS_CLUSTER: oneOf(['true', 'false'], 'false'),
  REDIS_TLS_CA_FILE: v.optional(v.string()),
  REDIS_USERNAME: v.optional(v.string()),
  REDIS_PASSWORD: v.optional(v.string()),
  AWS_REGION: v.optional(v.string()),
  AWS_ENDPOINT_URL_SQS: v.optional(urlOf('http:', 'https:')),
  AWS_ENDPOINT_URL_SFN: v.optional(urlOf('http:', 'https:')),
  HTTP_PORT: int(0, 65535, 8080),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  POLLERS: int(1, 64, 4),
  BATCH_SIZE: int(1, 10, 10),
  WAIT_TIME_SECONDS: int(0, 20, 20),
  VISIBILITY_TIMEOUT_SECONDS: int(5, 43_200, 30),
  HEARTBEAT_INTERVAL_SECONDS: int(1, 43_199, 10),
  MAX_VISIBILITY_EXTENSION_SECONDS: int(5, 43_200, 300),
  MAX_RECEIVES: int(1, 1000, 5),
  SFN_CLIENT: oneOf(['lean', 'sdk'], 'lean'),
  SFN_MAX_ATTEMPTS: int(1, 10, 3),
  SFN_RETRY_MODE: oneOf(['standard', 'adaptive'], 'adaptive'),
  SFN_REQUEST_TIMEOUT_MS: int(100, 60_000, 5000),
  SFN_RATE_LIMIT_PER_SECOND: int(0, 100_000, 250),
  // Comma-separated; checked in callbackKinds. Success and heartbeat need their own IAM actions.
  CALLBACK_KINDS: v.optional(v.string(), 'failure'),
  TASK_HEARTBEAT_MIN_INTERVAL_SECONDS: int(1, 3600, 10),
  SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND: int(0, 100_000, 50),
  RETRY_BASE_DELAY_SECONDS: int(1, 43_200, 2),
  RETRY_MAX_DELAY_SECONDS: int(1, 43_200, 300),
  FIFO_MAX_HAND_BACK_SECONDS: int(0, 43_200, 10),
  BREAKER_THRESHOLD: int(1, 10_000, 10),
  BREAKER_HALF_OPEN_AFTER_MS: int(100, 600_000, 5000),
  DEDUP_TTL_SECONDS: int(60, 31_622_400, 86_400),
  DEDUP_KEY_PREFIX: v.optional(v.pipe(v.string(), v.maxLength(200, 'must be at most 200 characters')), 'sfn-relay:'),
  DEDUP_MEMORY_MAX_MB: int(1, 65_536, 40),
  OVERLONG_TEXT: oneOf(['truncate', 'reject'], 'truncate'),
  MAX_BODY_BYTES: int(1024, 1_048_576, 1_048_576),
  DRAIN_TIMEOUT_SECONDS: int(1, 3600, 25),
  // The sender allowlist (src/admission/): comma-separated; checked in admissionFromEnv.
  ALLOWED_SENDERS: v.optional(v.string()),
  ALLOWED_SNS_TOPICS: v.optional(v.string()),
  ALLOWED_EVENTBRIDGE_SOURCES: v.optional(v.string()),
  ALLOWED_EVENTBRIDGE_ACCOUNTS: v.optional(v.string()),
  ALLOWED_CLOUDEVENT_SOURCES: v.optional(v.string()),
  SNS_VERIFY_SIGNATURES: v.optional(v.picklist(['true', 'false'], 'must be one of true, false')),
  SNS_SIGNING_CERT_FILE: v.optional(v.string()),
  TRUST_QUEUE_POLICY: v.optional(v.picklist(['true', 'false'], 'must be one of true, false')),
  // The standard OpenTelemetry variable; the relay also bounds its flush on shutdown by it.
  OTEL_BSP_EXPORT_TIMEOUT: int(100, 60_000, 5000),
});

type Env = v.InferOutput<typeof schema>;

/** CALLBACK_KINDS as a set, or what is wrong with it (`failure` cannot be left out). */
function callbackKinds(value: string): { kinds: ReadonlySet<CallbackKind> } | { problem: string } {
  const names = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const unknown = names.filter((k) => !isCallbackKind(k));
  if (unknown.length > 0) {
    return {
      problem: `names ${unknown.map((k) => JSON.stringify(k)).join(', ')}: kinds are ${CALLBACK_KINDS.join(', ')}`,
    };
  }
  if (!names.includes('failure')) return { problem: 'must include failure (it cannot be turned off)' };
  return { kinds: new Set(CALLBACK_KINDS.filter((k) => names.includes(k))) };
}

/** Checks between settings: [variable, message] for each that fails. */
function crossChecks(c: Env): [string, string][] {
  const out: [string, string][] = [];
  if (c.REDIS_URL === undefined) {
    for (const name of ['REDIS_TLS_CA_FILE', 'REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
      if (c[name] !== undefined) out.push([name, 'needs REDIS_URL']);
    }
    if (c.REDIS_CLUSTER === 'true') out.push(['REDIS_CLUSTER', 'needs REDIS_URL']);
  } else if (c.REDIS_TLS_CA_FILE !== undefined && !c.REDIS_URL.startsWith('rediss://')) {
    out.push(['REDIS_TLS_CA_FILE', 'needs a rediss:// REDIS_URL (TLS)']);
  }
  if (c.HEARTBEAT_INTERVAL_SECONDS >= c.VISIBILITY_TIMEOUT_SECONDS) {
    out.push([
      'HEARTBEAT_INTERVAL_SECONDS',
      `must be less than VISIBILITY_TIMEOUT_SECONDS (${c.VISIBILITY_TIMEOUT_SECONDS})`,
    ]);
  }
  if (c.RETRY_BASE_DELAY_SECONDS > c.RETRY_MAX_DELAY_SECONDS) {
    out.push(['RETRY_BASE_DELAY_SECONDS', `must not exceed RETRY_MAX_DELAY_SECONDS (${c.RETRY_MAX_DELAY_SECONDS})`]);
  }
  if (isFifoQueueUrl(c.DLQ_URL) && !isFifoQueueUrl(c.SOURCE_QUEUE_URL)) {
    // One group for a standard source's entries would serialise the DLQ behind its first poison
    // message, and SQS's own redrive policy and StartMessageMoveTask require matching queue types.
    out.push([
      'DLQ_URL',
      'is a FIFO queue behind a standard SOURCE_QUEUE_URL: use a standard DLQ (queue types must match)',
    ]);
  } else if (isFifoQueueUrl(c.SOURCE_QUEUE_URL) && !isFifoQueueUrl(c.DLQ_URL)) {
    // SQS refuses a send without a group to a FIFO queue and a group to a standard one: every
    // poison message would stay at the head of its group, blocking it forever.
    out.push([
      'DLQ_URL',
      'is a standard queue behind a FIFO SOURCE_QUEUE_URL: use a FIFO DLQ (queue types must match)',
    ]);
  }
  const kinds = callbackKinds(c.CALLBACK_KINDS);
  if ('problem' in kinds) out.push(['CALLBACK_KINDS', kinds.problem]);
  out.push(...admissionFromEnv(c).problems);
  return out;
}

/** Every environment variable the service reads (the Helm chart test checks each is settable). */
export const ENV_NAMES: readonly string[] = Object.keys(schema.entries);

/** Each variable's default as the schema applies it (undefined: none); docs/configuration.md is tested against it. */
export const ENV_DEFAULTS: Readonly<Record<string, string | undefined>> = v.getDefaults(schema);

export interface Config {
  sourceQueueUrl: string;
  dlqUrl: string;
  /** The shared store's connection; undefined: in-process dedup and rate limit. */
  redis: RedisSettings | undefined;
  region: string;
  sqsEndpoint: string | undefined;
  sfnEndpoint: string | undefined;
  httpPort: number;
  logLevel: Env['LOG_LEVEL'];
  pollers: number;
  batchSize: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
  heartbeatIntervalSeconds: number;
  maxVisibilityExtensionSeconds: number;
  maxReceives: number;
  sfnClient: Env['SFN_CLIENT'];
  sfnMaxAttempts: number;
  sfnRetryMode: Env['SFN_RETRY_MODE'];
  sfnRequestTimeoutMs: number;
  rateLimitPerSecond: number;
  /** The callbacks carried (CALLBACK_KINDS, in the order of CALLBACK_KINDS); failure always. */
  callbackKinds: ReadonlySet<CallbackKind>;
  /** At most one SendTaskHeartbeat per token per this (TASK_HEARTBEAT_MIN_INTERVAL_SECONDS). */
  taskHeartbeatMinIntervalSeconds: number;
  /** Heartbeats' own rate limit (SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND); 0: off. */
  heartbeatRateLimitPerSecond: number;
  retryBaseDelaySeconds: number;
  retryMaxDelaySeconds: number;
  /** On a FIFO source, the largest hand-back delay: a message handed back holds its whole group. */
  fifoMaxHandBackSeconds: number;
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
  dedupTtlSeconds: number;
  dedupKeyPrefix: string;
  /** Memory the in-process done-records may take; the oldest go first past it. */
  dedupMemoryMaxMb: number;
  overlongText: Env['OVERLONG_TEXT'];
  maxBodyBytes: number;
  drainTimeoutSeconds: number;
  /** Bound on one trace export, and on the flush at shutdown (OTEL_BSP_EXPORT_TIMEOUT). */
  telemetryFlushTimeoutMs: number;
  /** The sender allowlist; undefined: off, every sender admitted. */
  admission: AdmissionSettings | undefined;
}

/** Real SQS queue URLs name their region (`sqs.<region>.amazonaws.com`); use it when AWS_REGION is unset. */
function regionFromQueueUrl(queueUrl: string): string | undefined {
  const match = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\//.exec(queueUrl);
  return match?.[1];
}

/** Variables whose values are never echoed (a Redis URL may hold a password). */
const SECRET_VARIABLES = new Set(['REDIS_URL', 'REDIS_USERNAME', 'REDIS_PASSWORD']);

/** Reads and validates the environment; throws a ConfigError that names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Only the variables the schema knows, empty ones as unset.
  const given: Record<string, string> = {};
  for (const name of ENV_NAMES) {
    const value = env[name];
    if (value !== undefined && value !== '') given[name] = value;
  }
  const describe = (name: string, message: string) =>
    given[name] === undefined
      ? `${name} is required`
      : `${name}=${JSON.stringify(SECRET_VARIABLES.has(name) ? '<redacted>' : given[name])} ${message}`;
  const parsed = v.safeParse(schema, given);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.issues.map((issue) => describe(String(issue.path?.[0]?.key ?? 'environment'), issue.message)),
    );
  }
  const crossed = crossChecks(parsed.output);
  if (crossed.length > 0) throw new ConfigError(crossed.map(([name, message]) => describe(name, message)));
  // Defaults go through the same pipes: numbers come out as numbers.
  const e = parsed.output;
  return {
    sourceQueueUrl: e.SOURCE_QUEUE_URL,
    dlqUrl: e.DLQ_URL,
    redis:
      e.REDIS_URL === undefined
        ? undefined
        : {
            url: e.REDIS_URL,
            cluster: e.REDIS_CLUSTER === 'true',
            caFile: e.REDIS_TLS_CA_FILE,
            username: e.REDIS_USERNAME,
            password: e.REDIS_PASSWORD,
          },
    region: e.AWS_REGION ?? regionFromQueueUrl(e.SOURCE_QUEUE_URL) ?? 'us-east-1',
    sqsEndpoint: e.AWS_ENDPOINT_URL_SQS,
    sfnEndpoint: e.AWS_ENDPOINT_URL_SFN,
    httpPort: e.HTTP_PORT,
    logLevel: e.LOG_LEVEL,
    pollers: e.POLLERS,
    batchSize: e.BATCH_SIZE,
    waitTimeSeconds: e.WAIT_TIME_SECONDS,
    visibilityTimeoutSeconds: e.VISIBILITY_TIMEOUT_SECONDS,
    heartbeatIntervalSeconds: e.HEARTBEAT_INTERVAL_SECONDS,
    maxVisibilityExtensionSeconds: e.MAX_VISIBILITY_EXTENSION_SECONDS,
    maxReceives: e.MAX_RECEIVES,
    sfnClient: e.SFN_CLIENT,
    sfnMaxAttempts: e.SFN_MAX_ATTEMPTS,
    sfnRetryMode: e.SFN_RETRY_MODE,
    sfnRequestTimeoutMs: e.SFN_REQUEST_TIMEOUT_MS,
    rateLimitPerSecond: e.SFN_RATE_LIMIT_PER_SECOND,
    callbackKinds: (callbackKinds(e.CALLBACK_KINDS) as { kinds: ReadonlySet<CallbackKind> }).kinds,
    taskHeartbeatMinIntervalSeconds: e.TASK_HEARTBEAT_MIN_INTERVAL_SECONDS,
    heartbeatRateLimitPerSecond: e.SFN_HEARTBEAT_RATE_LIMIT_PER_SECOND,
    retryBaseDelaySeconds: e.RETRY_BASE_DELAY_SECONDS,
    retryMaxDelaySeconds: e.RETRY_MAX_DELAY_SECONDS,
    fifoMaxHandBackSeconds: e.FIFO_MAX_HAND_BACK_SECONDS,
    breakerThreshold: e.BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: e.BREAKER_HALF_OPEN_AFTER_MS,
    dedupTtlSeconds: e.DEDUP_TTL_SECONDS,
    dedupKeyPrefix: e.DEDUP_KEY_PREFIX,
    dedupMemoryMaxMb: e.DEDUP_MEMORY_MAX_MB,
    overlongText: e.OVERLONG_TEXT,
    maxBodyBytes: e.MAX_BODY_BYTES,
    drainTimeoutSeconds: e.DRAIN_TIMEOUT_SECONDS,
    telemetryFlushTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
    admission: admissionFromEnv(e).settings,
  };
}
