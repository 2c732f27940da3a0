/**
 * What the relay and the pollers read of the configuration and of the start-up checks: the one
 * place where a setting is adjusted for what the queues turned out to be (FIFO, retention, DLQ size).
 */
import { isFifoQueueUrl } from '../aws/queueUrl.js';
import type { PollerSettings } from '../pipeline/consumer.js';
import type { PreflightResult } from '../pipeline/preflight.js';
import type { RelaySettings } from '../pipeline/relay.js';
import type { Config } from './config.js';

export function relaySettings(config: Config, checked: PreflightResult): RelaySettings {
  const sourceFifo = checked.source?.fifo ?? isFifoQueueUrl(config.sourceQueueUrl);
  return {
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
  };
}

export function pollerSettings(config: Config, allowlistOn: boolean): PollerSettings {
  return {
    queueUrl: config.sourceQueueUrl,
    pollers: config.pollers,
    batchSize: config.batchSize,
    waitTimeSeconds: config.waitTimeSeconds,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    // Who sent each message, for the allowlist; not requested when it is off.
    ...(allowlistOn ? { extraSystemAttributes: ['SenderId'] } : {}),
  };
}
