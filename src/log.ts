import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * JSON logs. Nothing the relay logs carries a task token (it logs `token_hash`), and as a second
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
    },
    destination,
  );
}

export type { Logger };
