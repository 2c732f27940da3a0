/**
 * The one place that knows Redis connection shapes: a standalone server or a primary endpoint
 * (`redis://`, `rediss://`), a cluster (REDIS_CLUSTER=true: ElastiCache cluster mode, and
 * ElastiCache Serverless, which is always cluster mode and always TLS), TLS with the system CAs or
 * a CA bundle, AUTH or an ACL user. The dedup store and the rate limiter receive a connected
 * client and never know which shape it is.
 *
 * Loaded only when REDIS_URL is set (ioredis is not on the start path otherwise).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { redisErrorCode } from './redisErrors.js';

export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  url: string;
  cluster: boolean;
  /** PEM bundle to trust besides the system CAs (REDIS_TLS_CA_FILE). */
  caFile: string | undefined;
  /** Override the URL's user and password (REDIS_USERNAME, REDIS_PASSWORD, from a Secret). */
  username: string | undefined;
  password: string | undefined;
}

/** TLS failures that a wrong CA, certificate or host produce: configuration, not an outage. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** A start-up failure that no retry fixes: TLS trust, authentication, the wrong mode. */
export function fatalRedisProblem(err: unknown, s: Pick<RedisSettings, 'cluster'>): string | undefined {
  const e = (err ?? {}) as { code?: string; message?: string };
  const message = e.message ?? '';
  if (TLS_CODES.has(e.code ?? '')) {
    return `REDIS_URL: the TLS handshake failed (${e.code}): the server's certificate is not trusted; set REDIS_TLS_CA_FILE to the CA bundle that signed it`;
  }
  if (/^(WRONGPASS|NOAUTH|NOPERM)|invalid username-password|AUTH failed/i.test(message)) {
    return `REDIS_URL: Redis refused the credentials (${redisErrorCode(err)}): check the user and password in REDIS_URL or REDIS_USERNAME/REDIS_PASSWORD`;
  }
  if (s.cluster && /cluster support disabled/i.test(message)) {
    return 'REDIS_CLUSTER=true but REDIS_URL is not a cluster-mode endpoint: unset REDIS_CLUSTER';
  }
  return undefined;
}

function tlsOptions(s: RedisSettings): RedisOptions['tls'] | undefined {
  if (!s.url.startsWith('rediss://')) return undefined;
  if (s.caFile === undefined) return {};
  let bundle: string;
  try {
    bundle = readFileSync(s.caFile, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `REDIS_TLS_CA_FILE=${JSON.stringify(s.caFile)} cannot be read (${(err as NodeJS.ErrnoException).code})`,
    ]);
  }
  return { ca: [...rootCertificates, bundle] };
}

/** Options every connection gets: fail fast while Redis is away, so the fallback answers instead of commands queueing. */
function connectionOptions(s: RedisSettings): RedisOptions {
  const url = new URL(s.url);
  const username = s.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const password = s.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  const tls = tlsOptions(s);
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    // A primary demoted in a failover answers READONLY: reconnect (to the new primary) and resend.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

export function createRedis(s: RedisSettings, logger: Logger): RedisClient {
  const base = connectionOptions(s);
  const url = new URL(s.url);
  const client: RedisClient = s.cluster
    ? new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
        // ElastiCache with TLS: connect by the names the cluster announces, so certificates match.
        dnsLookup: (address, callback) => callback(null, address),
        redisOptions: base,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        slotsRefreshTimeout: 2000,
        // A failover moves slots; look them up every second, not every 5 s, so the new primary is found fast.
        slotsRefreshInterval: 1000,
        clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
        // Nodes that restart without a slot change (a replica) reconnect.
        clusterNodeRetryStrategy: (times) => Math.min(times * 200, 2000),
      })
    : new Redis(s.url, {
        ...base,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
  let last = 0;
  client.on('error', (err: Error) => {
    // ioredis reports every reconnect attempt; one line per 10 s is enough.
    if (Date.now() - last > 10_000) {
      last = Date.now();
      logger.warn({ err: { name: err.name, message: err.message } }, 'redis connection error');
    }
  });
  client.on('ready', () => logger.info({ cluster: s.cluster }, 'redis connected'));
  return client;
}

/**
 * Waits up to `ms` for the first connection. Throws a ConfigError for what no retry fixes (TLS
 * trust, credentials, the wrong mode); answers false when Redis is merely not reachable yet (the
 * relay then starts on its in-process store and switches when Redis answers).
 */
export async function connectRedis(client: RedisClient, s: RedisSettings, ms: number): Promise<boolean> {
  const ready = await new Promise<true | Error | false>((resolve) => {
    if (client.status === 'ready') {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => finish(false), ms);
    const onReady = () => finish(true);
    const onError = (err: Error) => {
      if (fatalRedisProblem(err, s) !== undefined) finish(err);
    };
    const finish = (r: true | Error | false) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      resolve(r);
    };
    client.on('ready', onReady);
    client.on('error', onError);
  });
  if (ready instanceof Error) {
    client.disconnect();
    throw new ConfigError([fatalRedisProblem(ready, s) ?? ready.message]);
  }
  if (ready && !s.cluster) {
    // A standalone client on a cluster-mode endpoint gets MOVED for most keys: say so now.
    const info = await (client as Redis).info('cluster').catch(() => '');
    if (/cluster_enabled:1/.test(info)) {
      client.disconnect();
      throw new ConfigError([
        'REDIS_URL is a cluster-mode endpoint (ElastiCache cluster mode or Serverless): set REDIS_CLUSTER=true',
      ]);
    }
  }
  return ready === true;
}
