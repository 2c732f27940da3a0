import { readFileSync } from 'node:fs';
import { type Context, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Command } from 'commander';
import { InvalidEventError } from '../errors.js';
import { DEFAULT_LIMITS, type FailureEvent, validateEvent } from '../event.js';
import { publishTaskFailure } from '../publish.js';
import { type AwsOptions, required, sqsClient, UsageError } from './common.js';

/** What `aws stepfunctions send-task-failure --generate-cli-skeleton` prints, byte for byte. */
export const CLI_SKELETON = `${JSON.stringify({ taskToken: '', error: '', cause: '' }, null, 4)}\n`;

interface Options extends AwsOptions {
  taskToken?: string;
  error?: string;
  cause?: string;
  cliInputJson?: string;
  generateCliSkeleton?: string | true;
  queueUrl?: string;
}

function readCliInputJson(value: string): Partial<FailureEvent> {
  let text = value;
  if (value.startsWith('file://')) {
    try {
      text = readFileSync(value.slice('file://'.length), 'utf8');
    } catch (err) {
      throw new UsageError(`--cli-input-json: cannot read ${value.slice(7)}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--cli-input-json is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('--cli-input-json must be a JSON object');
  }
  const known = new Set(['taskToken', 'error', 'cause']);
  const unknown = Object.keys(parsed).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new UsageError(
      `--cli-input-json has unknown parameter ${JSON.stringify(unknown[0])}; valid: taskToken, error, cause`,
    );
  }
  return parsed as Partial<FailureEvent>;
}

/**
 * The caller's trace context: a script that runs inside a trace passes it the way CI systems and
 * `otel-cli` do, as TRACEPARENT / TRACESTATE in the environment. The event carries it as message
 * attributes, so the relay's span links back to the caller.
 */
function callerContext(): Context {
  const traceparent = process.env.TRACEPARENT;
  if (traceparent === undefined || traceparent === '') return context.active();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const carrier: Record<string, string> = { traceparent };
  if (process.env.TRACESTATE) carrier.tracestate = process.env.TRACESTATE;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

function eventFrom(o: Options): FailureEvent {
  const fromJson = o.cliInputJson === undefined ? {} : readCliInputJson(o.cliInputJson);
  // Command-line values override --cli-input-json, as in the AWS CLI.
  const merged = {
    ...fromJson,
    ...(o.taskToken === undefined ? {} : { taskToken: o.taskToken }),
    ...(o.error === undefined ? {} : { error: o.error }),
    ...(o.cause === undefined ? {} : { cause: o.cause }),
  };
  if (merged.taskToken === undefined) {
    throw new UsageError('the following arguments are required: --task-token');
  }
  const checked = validateEvent(merged as never, 'plain', DEFAULT_LIMITS);
  if (!checked.ok) throw new UsageError(`invalid event (${checked.reason}): ${checked.detail}`);
  return checked.event;
}

export function registerSendTaskFailure(program: Command): void {
  program
    .command('send-task-failure')
    .description(
      'Publish a task failure to the relay queue (the options of `aws stepfunctions send-task-failure`, validated like the relay)',
    )
    .option('--task-token <token>', 'the task token of the task to fail')
    .option('--error <code>', 'the error code of the failure (≤ 256 characters)')
    .option('--cause <text>', 'a more detailed explanation of the cause (≤ 32,768 characters)')
    .option('--cli-input-json <json>', 'the event as a JSON string or file://path; command-line values override it')
    .option(
      '--generate-cli-skeleton [input|output]',
      'print the input skeleton (no value or "input"), or validate and print nothing ("output")',
    )
    .option('--queue-url <url>', 'the relay source queue (default: $SOURCE_QUEUE_URL)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)')
    .addHelpText(
      'after',
      `
Examples:
  $ sfn-relay send-task-failure --task-token "$TOKEN" --error PaymentDeclined --cause "card declined"
  $ sfn-relay send-task-failure --cli-input-json file://failure.json --error Overridden
  $ sfn-relay send-task-failure --generate-cli-skeleton > failure.json

Prints the SQS message id. TRACEPARENT / TRACESTATE in the environment become the event's trace
context. Exit codes: 0 published, 1 SQS refused, 2 bad options or invalid event.`,
    )
    .action(async (o: Options) => {
      const mode = o.generateCliSkeleton === true ? 'input' : o.generateCliSkeleton;
      if (mode !== undefined && mode !== 'input' && mode !== 'output') {
        throw new UsageError(`--generate-cli-skeleton takes "input" or "output", got "${mode}"`);
      }
      if (mode === 'input') {
        process.stdout.write(CLI_SKELETON);
        return;
      }
      const event = eventFrom(o);
      if (mode === 'output') return;
      const queueUrl = required(o.queueUrl ?? process.env.SOURCE_QUEUE_URL, 'queue-url', 'SOURCE_QUEUE_URL');
      const sqs = sqsClient(o);
      try {
        const id = await publishTaskFailure(event, { sqs, queueUrl, traceContext: callerContext() });
        process.stdout.write(`${id}\n`);
      } catch (err) {
        if (err instanceof InvalidEventError) throw new UsageError(err.message);
        throw err;
      } finally {
        sqs.destroy();
      }
    });
}
