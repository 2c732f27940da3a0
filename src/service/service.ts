/**
 * Assembly: configuration → clients → dedup store, limiter, breaker → relay → pollers → HTTP.
 * `main.ts` wraps this with signals; tests and the demo start it in-process.
 */
import type { Server } from 'node:http';
import type { DestinationStream } from 'pino';
import { Admission } from '../admission/admission.js';
import { Allowlist } from '../admission/allowlist.js';
import { fetchedCerts, pinnedCerts } from '../admission/snsSignature.js';
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import { createSender } from '../aws/sender.js';
import { createSqsClient, receiveTimeoutMs } from '../aws/sqs.js';
import { createLogger, type Logger } from '../core/log.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { exportFailures } from '../observability/tracing.js';
import { Pollers } from '../pipeline/consumer.js';
import { type PreflightResult, preflight } from '../pipeline/preflight.js';
import { policyExpectations } from '../pipeline/queuePolicy.js';
import { Relay } from '../pipeline/relay.js';
import { SendBreaker } from '../state/breaker.js';
import type { Config } from './config.js';
import { healthChecks } from './health.js';
import { createHttpServer, listen } from './http.js';
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
  const sourceFifo = checked.source?.fifo ?? isFifoQueueUrl(config.sourceQueueUrl);

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

  let pollers: Pollers | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  const breaker = new SendBreaker({
    threshold: config.breakerThreshold,
    halfOpenAfterMs: config.breakerHalfOpenAfterMs,
    onStateChange: (state) => {
      metrics.setBreaker(state);
      logger.warn({ breaker: state }, 'circuit breaker state changed');
      clearTimeout(probeTimer);
      if (state === 'open') {
        // Stop burning receive counts while Step Functions fails for everyone; probe later.
        pollers?.pause();
        probeTimer = setTimeout(() => pollers?.probe(), config.breakerHalfOpenAfterMs);
      } else if (state === 'closed') {
        pollers?.resume();
      }
    },
  });

  const relay = new Relay(
    {
      sourceQueueUrl: config.sourceQueueUrl,
      dlqUrl: config.dlqUrl,
      ...(checked.dlq === undefined
        ? {}
        : { dlqMaxMessageBytes: checked.dlq.maxMessageBytes, dlqFifo: checked.dlq.fifo }),
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      heartbeatIntervalSeconds: config.heartbeatIntervalSeconds,
      maxVisibilityExtensionSeconds: config.maxVisibilityExtensionSeconds,
      maxReceives: config.maxReceives,
      retryBaseDelaySeconds: config.retryBaseDelaySeconds,
      // On FIFO, a message handed back holds its whole group for the delay: keep it short.
      retryMaxDelaySeconds: sourceFifo
        ? Math.max(1, Math.min(config.retryMaxDelaySeconds, config.fifoMaxHandBackSeconds))
        : config.retryMaxDelaySeconds,
      dedupTtlSeconds: config.dedupTtlSeconds,
      // A token's own failures are remembered as long as its message can live in the queue.
      failureTtlSeconds: checked.source?.retentionSeconds ?? 1_209_600,
      taskHeartbeatMinIntervalSeconds: config.taskHeartbeatMinIntervalSeconds,
      limits: { maxBodyBytes: config.maxBodyBytes, overlongText: config.overlongText, kinds: config.callbackKinds },
    },
    { sqs, send: (e) => sfn.send(e), dedup, limiter, heartbeatLimiter, breaker, metrics, logger, admission },
  );

  const activePollers = new Pollers(
    {
      queueUrl: config.sourceQueueUrl,
      pollers: config.pollers,
      batchSize: config.batchSize,
      waitTimeSeconds: config.waitTimeSeconds,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      // Who sent each message, for the allowlist; not requested when it is off.
      ...(admission === undefined ? {} : { extraSystemAttributes: ['SenderId'] }),
    },
    { sqs: receiveSqs, handleBatch: (messages) => relay.handleBatch(messages), logger, metrics },
  );
  pollers = activePollers;

  let stopping = false;
  const server: Server = createHttpServer({
    registry: metrics.registry,
    ...healthChecks(config, {
      pollers: activePollers,
      relay,
      breaker,
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
    clearTimeout(probeTimer);
    activePollers.stop();
    const deadline = new Promise<'deadline'>((resolve) => {
      setTimeout(() => resolve('deadline'), config.drainTimeoutSeconds * 1000).unref();
    });
    if ((await Promise.race([relay.idle().then(() => 'idle' as const), deadline])) === 'deadline') {
      logger.warn({ in_flight: relay.inFlight }, 'drain deadline reached, handing back messages in flight');
      relay.interrupt();
      await relay.idle();
    }
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
