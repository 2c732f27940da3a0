import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { RedisSettings } from './redis.js';

/** Any URL the WHATWG parser accepts with one of `protocols` (emulator hosts such as `sqs.us-east-1.127.0.0.1` included). */
const urlOf = (...protocols: string[]) =>
  z.string().refine((v) => protocols.includes(URL.parse(v)?.protocol ?? ''), {
    message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  });
const url = urlOf('http:', 'https:');
// Queue URLs are only ever sent as a parameter, never parsed: emulators hand out hosts such as
// `sqs.us-east-1.127.0.0.1` that the WHATWG parser refuses, so the check is on the shape.
const queueUrl = z.string().regex(/^https?:\/\/[^\s/]+\/\S+$/, {
  message: 'must look like https://sqs.<region>.amazonaws.com/<account>/<queue>',
});
const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), url.optional());

/**
 * Every setting the service reads, with its default. The README's configuration table is written
 * from this schema; keep the two in step.
 */
const schema = z
  .object({
    SOURCE_QUEUE_URL: queueUrl,
    DLQ_URL: queueUrl,
    REDIS_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^rediss?$/ }).optional()),
    REDIS_CLUSTER: z.enum(['true', 'false']).default('false'),
    REDIS_TLS_CA_FILE: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
    REDIS_USERNAME: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
    REDIS_PASSWORD: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
    AWS_REGION: z.string().min(1).optional(),
    AWS_ENDPOINT_URL_SQS: optionalUrl,
    AWS_ENDPOINT_URL_SFN: optionalUrl,
    HTTP_PORT: int(0, 65535, 8080),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    POLLERS: int(1, 64, 4),
    BATCH_SIZE: int(1, 10, 10),
    WAIT_TIME_SECONDS: int(0, 20, 20),
    VISIBILITY_TIMEOUT_SECONDS: int(5, 43_200, 30),
    HEARTBEAT_INTERVAL_SECONDS: int(1, 43_199, 10),
    MAX_VISIBILITY_EXTENSION_SECONDS: int(5, 43_200, 300),
    MAX_RECEIVES: int(1, 1000, 5),
    SFN_CLIENT: z.enum(['lean', 'sdk']).default('lean'),
    SFN_MAX_ATTEMPTS: int(1, 10, 3),
    SFN_RETRY_MODE: z.enum(['standard', 'adaptive']).default('adaptive'),
    SFN_REQUEST_TIMEOUT_MS: int(100, 60_000, 5000),
    SFN_RATE_LIMIT_PER_SECOND: int(0, 100_000, 250),
    RETRY_BASE_DELAY_SECONDS: int(1, 43_200, 2),
    RETRY_MAX_DELAY_SECONDS: int(1, 43_200, 300),
    FIFO_MAX_HAND_BACK_SECONDS: int(0, 43_200, 10),
    BREAKER_THRESHOLD: int(1, 10_000, 10),
    BREAKER_HALF_OPEN_AFTER_MS: int(100, 600_000, 5000),
    DEDUP_TTL_SECONDS: int(60, 31_622_400, 86_400),
    DEDUP_KEY_PREFIX: z.string().min(1).max(200).default('sfn-relay:'),
    DEDUP_MEMORY_MAX_MB: int(1, 65_536, 40),
    OVERLONG_TEXT: z.enum(['truncate', 'reject']).default('truncate'),
    MAX_BODY_BYTES: int(1024, 1_048_576, 1_048_576),
    DRAIN_TIMEOUT_SECONDS: int(1, 3600, 25),
    // The standard OpenTelemetry variable; the relay also bounds its flush on shutdown by it.
    OTEL_BSP_EXPORT_TIMEOUT: int(100, 60_000, 5000),
  })
  .superRefine((c, ctx) => {
    if (c.REDIS_URL === undefined) {
      for (const name of ['REDIS_TLS_CA_FILE', 'REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
        if (c[name] !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'needs REDIS_URL' });
      }
      if (c.REDIS_CLUSTER === 'true')
        ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER'], message: 'needs REDIS_URL' });
    } else if (c.REDIS_TLS_CA_FILE !== undefined && !c.REDIS_URL.startsWith('rediss://')) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_TLS_CA_FILE'], message: 'needs a rediss:// REDIS_URL (TLS)' });
    }
    if (c.HEARTBEAT_INTERVAL_SECONDS >= c.VISIBILITY_TIMEOUT_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HEARTBEAT_INTERVAL_SECONDS'],
        message: `must be less than VISIBILITY_TIMEOUT_SECONDS (${c.VISIBILITY_TIMEOUT_SECONDS})`,
      });
    }
    if (c.RETRY_BASE_DELAY_SECONDS > c.RETRY_MAX_DELAY_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['RETRY_BASE_DELAY_SECONDS'],
        message: `must not exceed RETRY_MAX_DELAY_SECONDS (${c.RETRY_MAX_DELAY_SECONDS})`,
      });
    }
  });

type Env = z.infer<typeof schema>;

/** Every environment variable the service reads (the Helm chart test checks each is settable). */
export const ENV_NAMES: readonly string[] = Object.keys(schema.shape);

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
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const given = env[name];
      return given === undefined
        ? `${name} is required`
        : `${name}=${JSON.stringify(SECRET_VARIABLES.has(name) ? '<redacted>' : given)} ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
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
  };
}
