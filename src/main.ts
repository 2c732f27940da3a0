/**
 * The service's entry point (`npm start`, the container's `node dist/main.js`): configuration from
 * the environment, then the relay, then signals. SIGTERM and SIGINT drain gracefully and exit 0.
 */

import { ConfigError } from './core/errors.js';
import { startTelemetry } from './observability/tracing.js';
import { loadConfig } from './service/config.js';
import { startService } from './service/service.js';
import { shutdownBudgetSeconds } from './service/shutdown.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sfn-failure-relay: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const telemetry = await startTelemetry();
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config);
  } catch (err) {
    // What no retry fixes (Redis TLS trust, credentials, mode): one line, exit 2, as a bad variable.
    if (err instanceof ConfigError) {
      process.stderr.write(`sfn-failure-relay: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // A second signal while draining: the operator means it. Messages in flight reappear after
      // their visibility timeout, so this loses nothing either.
      service.logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    const budget = shutdownBudgetSeconds(config);
    service.logger.info({ signal, budget_seconds: budget }, 'draining');
    // Never outlive the grace period the chart computes with the same formula: a forced exit
    // loses nothing (messages in flight reappear after their visibility timeout).
    setTimeout(
      () => {
        service.logger.error({ budget_seconds: budget }, 'shutdown budget exhausted, exiting');
        process.exit(1);
      },
      Math.max(1000, (budget - 1) * 1000),
    ).unref();
    service
      .stop()
      // Spans of the last messages are flushed before the process goes.
      .then(() => telemetry.shutdown().catch(() => undefined))
      .then(
        () => process.exit(0),
        (err: unknown) => {
          service.logger.error({ err: { name: (err as Error)?.name } }, 'drain failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(`sfn-failure-relay: failed to start: ${(err as Error)?.name}: ${(err as Error)?.message}\n`);
  process.exit(1);
});
