import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * JSON logs with `trace_id` / `span_id` inside spans. Nothing the relay logs carries a task token (it logs `token_hash`), and as a second
 * line of defence any field named like one is censored.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sfn-failure-relay' },
      redact: { paths: ['taskToken', '*.taskToken', 'token', '*.token'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Lines written inside a span carry its ids, so logs and traces join.
      mixin() {
        const sc = trace.getActiveSpan()?.spanContext();
        return sc !== undefined && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
      },
    },
    destination,
  );
}

export type { Logger };
