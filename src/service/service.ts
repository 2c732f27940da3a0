/**
 * Assembly: configuration → clients → dedup store, limiter, breaker → relay → pollers → HTTP.
 * `main.ts` wraps this with signals; tests and the demo start it in-process.
 */
import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { Admission } from '../admission/admission.js';
import { Allowlist } from '../admission/allowlist.js';
import { fetchedCerts, pinnedCerts } from '../admission/snsSignature.js';
import { createSender } from '../aws/sender.js';
import { createSqsClient, receiveTimeoutMs } from '../aws/sqs.js';
import { createLogger, type Logger } from '../core/log.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { exportFailures } from '../observability/tracing.js';
import { Pollers } from '../pipeline/consumer.js';
import { IntakeControl } from '../pipeline/intakeControl.js';
import { type PreflightResult, preflight } from '../pipeline/preflight.js';
import { policyExpectations } from '../pipeline/queuePolicy.js';
import { Relay } from '../pipeline/relay.js';
import { SendBreaker } from '../state/breaker.js';
import type { Config } from './config.js';
import { healthChecks } from './health.js';
import { createHttpServer, listen } from './http.js';
import { pollerSettings, relaySettings } from './relaySettings.js';
import { createSharedState } from './stores.js';

export interface Service {
  /** The port `/healthz`, `/readyz` and `/metrics` listen on. */
  readonly port: number;
  readonly relay: Relay;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Graceful drain: readiness off, polling stops, in-flight messages finish or are handed back. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** Where logs go (default stdout). */
  logDestination?: DestinationStream;
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<Service> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const metrics = createMetrics();
  const stopReportingExports = reportExportFailures(logger, metrics);
  const sqs = createSqsClient(config.region, config.sqsEndpoint);
  const receiveSqs = createSqsClient(config.region, config.sqsEndpoint, {
    requestTimeoutMs: receiveTimeoutMs(config.waitTimeSeconds),
  });
  const sfn = createSender(config);
  const admission = createAdmission(config, logger);

  const checked = await preflight(sqs, {
    sourceQueueUrl: config.sourceQueueUrl,
    dlqUrl: config.dlqUrl,
    maxReceives: config.maxReceives,
    fifoMaxHandBackSeconds: config.fifoMaxHandBackSeconds,
    policyExpectations: policyExpectations(config.admission?.allowlist),
  });
  logChecks(logger, checked);

  const shared = await createSharedState(
    {
      redis: config.redis,
      keyPrefix: config.dedupKeyPrefix,
      rateLimitPerSecond: config.rateLimitPerSecond,
      heartbeatRateLimitPerSecond: config.heartbeatRateLimitPerSecond,
      memoryMegabytes: config.dedupMemoryMaxMb,
      dedupTtlSeconds: config.dedupTtlSeconds,
    },
    logger,
    metrics,
  );
  const { dedup, limiter, heartbeatLimiter } = shared;

  const intake = new IntakeControl(config.breakerHalfOpenAfterMs, { metrics, logger });
  const breaker = new SendBreaker({
    threshold: config.breakerThreshold,
    halfOpenAfterMs: config.breakerHalfOpenAfterMs,
    onStateChange: (state) => intake.breakerChanged(state),
  });
  // Heartbeats' own breaker: same settings, never drives intake (a missing states:SendTaskHeartbeat
  // or throttled heartbeats must not pause failures and successes).
  const heartbeatBreaker = new SendBreaker({
    threshold: config.breakerThreshold,
    halfOpenAfterMs: config.breakerHalfOpenAfterMs,
    onStateChange: (state) => {
      metrics.setHeartbeatBreaker(state);
      logger.warn({ heartbeat_breaker: state }, 'heartbeat circuit breaker state changed');
    },
  });

  const relay = new Relay(relaySettings(config, checked), {
    sqs,
    send: (e) => sfn.send(e),
    dedup,
    limiter,
    heartbeatLimiter,
    breaker,
    heartbeatBreaker,
    metrics,
    logger,
    admission,
  });

  const activePollers = new Pollers(pollerSettings(config, admission !== undefined), {
    sqs: receiveSqs,
    handleBatch: (messages) => relay.handleBatch(messages),
    logger,
    metrics,
  });
  intake.attach(activePollers);

  let stopping = false;
  const server: Server = createHttpServer({
    registry: metrics.registry,
    ...healthChecks(config, {
      pollers: activePollers,
      relay,
      breaker,
      heartbeatBreaker,
      dedup,
      limiter,
      heartbeatLimiter,
      redisStatus: shared.redisStatus,
      preflight: checked,
      admission,
      stopping: () => stopping,
    }),
  });
  const port = await listen(server, config.httpPort);

  activePollers.start();
  logger.info(
    {
      port,
      pollers: config.pollers,
      dedup_store: dedup.kind,
      rate_limit_per_second: config.rateLimitPerSecond,
      callback_kinds: [...config.callbackKinds],
      ...(config.callbackKinds.has('heartbeat')
        ? {
            heartbeat_rate_limit_per_second: config.heartbeatRateLimitPerSecond,
            task_heartbeat_min_interval_seconds: config.taskHeartbeatMinIntervalSeconds,
          }
        : {}),
    },
    'relay started',
  );

  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    intake.stop();
    activePollers.stop();
    await drain(relay, config.drainTimeoutSeconds, logger);
    await shared.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Idle keep-alive connections (a scraper's) would hold close() open.
    server.closeAllConnections();
    await closed;
    sqs.destroy();
    receiveSqs.destroy();
    await sfn.close();
    stopReportingExports();
    logger.info('relay stopped');
  };

  return {
    port,
    relay,
    metrics,
    logger,
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}

/** In-flight messages finish, or at the deadline those not yet sent are handed back. */
async function drain(relay: Relay, seconds: number, logger: Logger): Promise<void> {
  const deadline = new Promise<'deadline'>((resolve) => {
    setTimeout(() => resolve('deadline'), seconds * 1000).unref();
  });
  if ((await Promise.race([relay.idle().then(() => 'idle' as const), deadline])) === 'deadline') {
    logger.warn({ in_flight: relay.inFlight }, 'drain deadline reached, handing back messages in flight');
    relay.interrupt();
    await relay.idle();
  }
}

/** A failed trace export: counted, and one warning a minute with the endpoint and the reason. */
function reportExportFailures(logger: Logger, metrics: Metrics): () => void {
  let last = 0;
  let since = 0;
  const onFailure = (endpoint: string, reason: string) => {
    metrics.telemetryExportFailures.inc();
    since += 1;
    if (Date.now() - last < 60_000) return;
    logger.warn(
      { endpoint, reason: reason.slice(0, 300), failed_exports: since },
      'trace export failed; spans are dropped',
    );
    last = Date.now();
    since = 0;
  };
  exportFailures.on('exportFailure', onFailure);
  return () => exportFailures.off('exportFailure', onFailure);
}

/** The sender allowlist, when configured; a pinned certificate file that cannot be read is a ConfigError. */
function createAdmission(config: Config, logger: Logger): Admission | undefined {
  const a = config.admission;
  if (a === undefined) return undefined;
  const certs = a.snsCertFile === undefined ? fetchedCerts() : pinnedCerts(a.snsCertFile);
  const s = a.allowlist;
  const allowlist = new Allowlist(s);
  const signatures = allowlist.snsSignatures;
  logger.info(
    {
      allowed_senders: s.senders.length,
      allowed_sns_topics: s.snsTopics.length,
      allowed_eventbridge_sources: s.eventBridgeSources.length,
      allowed_eventbridge_accounts: s.eventBridgeAccounts.length,
      allowed_cloudevent_sources: s.cloudEventSources.length,
      trust_queue_policy: s.trustQueuePolicy,
      sns_signatures:
        signatures === 'verified'
          ? `verified, ${a.snsCertFile === undefined ? 'certificates fetched' : 'pinned certificates'}`
          : signatures,
    },
    'sender allowlist on',
  );
  return new Admission(allowlist, { certs, logger });
}

function logChecks(logger: Logger, result: PreflightResult): void {
  for (const c of result.checks) {
    const fields = { check: c.name };
    if (c.level === 'error') logger.error(fields, c.message);
    else if (c.level === 'warn') logger.warn(fields, c.message);
    else logger.info(fields, c.message);
  }
}
