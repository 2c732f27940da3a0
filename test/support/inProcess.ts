/** The relay started in the test's own process, against the emulators, configured like a process would be. */
import type { DestinationStream } from 'pino';
import { loadConfig } from '../../src/service/config.js';
import { type Service, startService } from '../../src/service/service.js';
import type { Emulators } from './useEmulators.js';

export function startInProcess(
  emu: Emulators,
  queues: { source: string; dlq: string },
  extra: Record<string, string> = {},
  logDestination?: DestinationStream,
): Promise<Service> {
  return startService(
    loadConfig({
      SOURCE_QUEUE_URL: queues.source,
      DLQ_URL: queues.dlq,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: emu.sfn.endpoint,
      HTTP_PORT: '0',
      WAIT_TIME_SECONDS: '1',
      LOG_LEVEL: 'silent',
      ...extra,
    }),
    logDestination === undefined ? {} : { logDestination },
  );
}
