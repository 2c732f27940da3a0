import type { SQSClient } from '@aws-sdk/client-sqs';
import { RelayError } from '../errors.js';
import { createSqsClient } from '../sqs.js';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends RelayError {
  constructor(message: string) {
    super('CLI_USAGE', message);
    this.name = 'UsageError';
  }
}

/** The command ran and failed: exit code 1. */
export class CommandError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_FAILED', message, options);
    this.name = 'CommandError';
  }
}

export interface AwsOptions {
  region?: string;
  endpointUrl?: string;
}

/** Same environment variables as the service: AWS_REGION, AWS_ENDPOINT_URL_SQS. */
export function sqsClient(o: AwsOptions): SQSClient {
  const region = o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = o.endpointUrl ?? (process.env.AWS_ENDPOINT_URL_SQS || undefined);
  return createSqsClient(region, endpoint);
}

export function required(value: string | undefined, what: string, env: string): string {
  if (value === undefined || value === '') throw new UsageError(`${what} is required (--${what} or ${env})`);
  return value;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `2h`, `7d` → milliseconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (m === null) throw new UsageError(`${option} takes a duration such as 30s, 15m, 2h or 7d, got "${text}"`);
  return Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
}

export function parsePositiveInt(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} takes a whole number ≥ 1, got "${text}"`);
  return n;
}

/** One line for stderr: a message, never a stack, never a token. */
export function oneLine(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e?.message ?? String(err)}`.replace(/\s+/g, ' ').trim();
}
