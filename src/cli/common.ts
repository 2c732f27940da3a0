import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../aws/sqs.js';
import { RelayError } from '../core/errors.js';

/**
 * Exit codes, the AWS CLI v2's for every command (so scripts that wrap `aws` wrap `sfn-relay`
 * alike): 0 ok, 1 a result that is not an error (`validate` found invalid events), 130 interrupted,
 * 252 command-line or parameter error, 253 configuration (region, credentials), 254 the service
 * answered with an error, 255 anything else (network, unexpected).
 */
export const EXIT = {
  ok: 0,
  someInvalid: 1,
  usage: 252,
  configuration: 253,
  service: 254,
  other: 255,
  interrupted: 130,
} as const;

/** A mistake in how the command was called, or a parameter that is not valid: exit 252. */
export class UsageError extends RelayError {
  constructor(message: string) {
    super('CLI_USAGE', message);
    this.name = 'UsageError';
  }
}

/** Region or credentials missing: exit 253. */
export class ConfigurationError extends RelayError {
  constructor(message: string) {
    super('CLI_CONFIGURATION', message);
    this.name = 'ConfigurationError';
  }
}

/** The command ran and SQS refused part of it: exit 254. */
export class CommandError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_FAILED', message, options);
    this.name = 'CommandError';
  }
}

/** A result to report with exit 1, not an error (`validate` found invalid events). */
export class ResultError extends RelayError {
  constructor(message: string) {
    super('CLI_RESULT', message);
    this.name = 'ResultError';
  }
}

/** Ctrl-C ended the command after it finished the batch in hand and reported: exit 130. */
export class InterruptedError extends RelayError {
  constructor(message: string) {
    super('CLI_INTERRUPTED', message);
    this.name = 'InterruptedError';
  }
}

const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'NoCredentialsError', 'ExpiredTokenException']);

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigurationError) return EXIT.configuration;
  if (err instanceof ResultError) return EXIT.someInvalid;
  if (err instanceof InterruptedError) return EXIT.interrupted;
  if (err instanceof CommandError) return EXIT.service;
  const e = err as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  if (CREDENTIAL_ERRORS.has(e?.name ?? '')) return EXIT.configuration;
  // An AWS service answered with an error (it has a status code): 254, as the AWS CLI.
  if (e?.$metadata?.httpStatusCode !== undefined) return EXIT.service;
  return EXIT.other;
}

export interface AwsOptions {
  region?: string;
  endpointUrl?: string;
}

/** Same environment variables as the service: AWS_REGION, AWS_ENDPOINT_URL_SQS. */
export function sqsClient(o: AwsOptions): SQSClient {
  const region = o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') {
    throw new ConfigurationError('You must specify a region: --region, AWS_REGION or AWS_DEFAULT_REGION');
  }
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
