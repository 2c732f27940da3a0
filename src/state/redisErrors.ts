/**
 * What kind of failure a Redis error is: connection-level (the link or the cluster is down: the
 * relay carries on without Redis for a while) or a command error (a bug or a configuration error
 * such as CROSSSLOT, WRONGTYPE, MOVED to a standalone client, NOPERM: loud, never silently
 * degraded). Kept apart from redis.ts so that deciding needs no Redis client loaded.
 */
import { NODE_NETWORK_CODES } from '../core/outcome.js';

/** Messages of errors that mean the link, the node or the cluster is down, not the command. */
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|Command timed out|connect ETIMEDOUT|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|^CLUSTERDOWN|^TRYAGAIN|^LOADING|^MASTERDOWN|^READONLY|Reached the max retries per request/;
const CONNECTION_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);
/** Node's network codes, and ioredis' own for a connection it closed. */
const CONNECTION_CODES = new Set([...NODE_NETWORK_CODES, 'NR_CLOSED']);

/** Whether an error means "Redis is not reachable now" (fall back) rather than "this command is wrong" (be loud). */
export function isConnectionError(err: unknown): boolean {
  const e = (err ?? {}) as { name?: string; message?: string; code?: string };
  if (CONNECTION_NAMES.has(e.name ?? '')) return true;
  if (CONNECTION_CODES.has(e.code ?? '')) return true;
  return CONNECTION_MESSAGES.test(e.message ?? '');
}

/** The Redis error code of a command error (`CROSSSLOT`, `WRONGTYPE`, …), for a bounded metric label. */
export function redisErrorCode(err: unknown): string {
  const message = String((err as { message?: string })?.message ?? '');
  const code = /^([A-Z][A-Z_]{2,31})\b/.exec(message)?.[1];
  return code ?? (err as { name?: string })?.name ?? 'Error';
}
