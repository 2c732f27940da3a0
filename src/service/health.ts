/**
 * What `/healthz` and `/readyz` answer. Liveness restarts a pod that is stuck; readiness says
 * whether the relay should count as serving. Every degraded mode is a field of `/readyz`, so one
 * request tells an operator what the logs and metrics say.
 */
import type { Admission } from '../admission/admission.js';
import type { Pollers } from '../pipeline/consumer.js';
import type { PreflightResult } from '../pipeline/preflight.js';
import type { Relay } from '../pipeline/relay.js';
import type { SendBreaker } from '../state/breaker.js';
import { FallbackDedupStore } from '../state/dedup/fallback.js';
import type { DedupStore } from '../state/dedup/store.js';
import type { Limiter } from '../state/rateLimit.js';
import type { RedisStatus } from '../state/redisStatus.js';
import type { Config } from './config.js';
import type { Check } from './http.js';

export interface HealthParts {
  pollers: Pollers;
  relay: Relay;
  breaker: SendBreaker;
  /** Heartbeats' own breaker (shown while heartbeats are enabled). */
  heartbeatBreaker?: SendBreaker;
  dedup: DedupStore;
  limiter: Limiter;
  /** Heartbeats' own limiter (shown while heartbeats are enabled). */
  heartbeatLimiter?: Limiter;
  redisStatus: RedisStatus | undefined;
  preflight: PreflightResult;
  admission: Admission | undefined;
  stopping: () => boolean;
}

/** How long one receive or one batch may take before the poller counts as stuck. */
export function stuckAfterMs(config: Pick<Config, 'waitTimeSeconds' | 'maxVisibilityExtensionSeconds'>): number {
  return (config.waitTimeSeconds + config.maxVisibilityExtensionSeconds + 60) * 1000;
}

export function healthChecks(config: Config, p: HealthParts): { live: () => Check; ready: () => Check } {
  const limit = stuckAfterMs(config);
  const sourceChecked = p.preflight.source !== undefined;
  const checks = Object.fromEntries(p.preflight.checks.map((c) => [c.name, c.level]));
  let reached = sourceChecked;
  return {
    live: () => {
      const mode = p.pollers.mode;
      const { longestBusyMs, longestSinceReceiveMs } = p.pollers.progress();
      // One stuck poller is enough: its batch or receive never ends, and the others cannot tell.
      const ok = longestBusyMs < limit && (mode !== 'running' || longestSinceReceiveMs < limit);
      return {
        ok,
        detail: { pollers: mode, longest_busy_ms: longestBusyMs, longest_since_receive_ms: longestSinceReceiveMs },
      };
    },
    /**
     * Ready once the relay has reached its source queue (its configuration and permissions work),
     * until it drains. Later outages — SQS, Step Functions (the breaker), Redis — do not make it
     * unready: its Service carries no traffic readiness would steer, and every pod turning unready
     * at once would make the PodDisruptionBudget block every node drain for the outage's length.
     * They are fields here, metrics and alerts instead. A pod with a bad configuration never
     * becomes ready, so a rollout onto it stalls.
     */
    ready: () => {
      const queue = p.pollers.reachable ?? sourceChecked;
      if (queue) reached = true;
      const stopping = p.stopping();
      const ok = !stopping && reached;
      const dlq = p.relay.dlqHealth;
      return {
        ok,
        detail: {
          stopping,
          source_queue_reachable: queue,
          breaker: p.breaker.state,
          dedup_store: p.dedup.kind,
          dedup_degraded: p.dedup instanceof FallbackDedupStore ? p.dedup.degraded : false,
          rate_limit: p.limiter.mode,
          callback_kinds: [...config.callbackKinds],
          ...(config.callbackKinds.has('heartbeat') && p.heartbeatLimiter !== undefined
            ? { heartbeat_rate_limit: p.heartbeatLimiter.mode }
            : {}),
          ...(config.callbackKinds.has('heartbeat') && p.heartbeatBreaker !== undefined
            ? { heartbeat_breaker: p.heartbeatBreaker.state }
            : {}),
          ...(p.redisStatus?.lastCommandError === undefined
            ? {}
            : { redis_last_command_error: p.redisStatus.lastCommandError }),
          ...(p.redisStatus?.eviction === undefined ? {} : { redis_eviction: p.redisStatus.eviction }),
          in_flight: p.relay.inFlight,
          ...(p.admission === undefined ? {} : { admission: p.admission.health }),
          ...(p.preflight.security === undefined ? {} : { queue_security: p.preflight.security }),
          dlq_refused: dlq.refused,
          dlq_reason_dropped: dlq.reasonDropped,
          ...(dlq.lastRefusal === undefined ? {} : { dlq_last_refusal: dlq.lastRefusal }),
          checks,
        },
      };
    },
  };
}
