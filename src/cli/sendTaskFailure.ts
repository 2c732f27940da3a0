import { type Context, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { publishTaskFailure } from '../aws/publish.js';
import { InvalidEventError, RelayError } from '../core/errors.js';
import { type CallbackEvent, DEFAULT_LIMITS, type FailureEvent, validateEvent } from '../core/event.js';
import { DEFAULT_CLOUDEVENT_TYPE } from '../envelope/cloudevent.js';
import { type AwsOptions, required, sqsClient, UsageError } from './common.js';
import { stringParameter } from './paramfile.js';

/** What `aws stepfunctions send-task-failure --generate-cli-skeleton` prints, byte for byte. */
export const CLI_SKELETON = `${JSON.stringify({ taskToken: '', error: '', cause: '' }, null, 4)}\n`;

/** What the AWS CLI v2 prints for `--generate-cli-skeleton yaml-input`, byte for byte. */
export const CLI_SKELETON_YAML = `taskToken: ''  # [REQUIRED] The token that represents this task.
error: '' # The error code of the failure.
cause: '' # A more detailed explanation of the cause of the failure.
`;

const PARAMETERS = ['taskToken', 'error', 'cause'] as const;

interface Options extends AwsOptions {
  taskToken?: string;
  error?: string;
  cause?: string;
  cliInputJson?: string;
  cliInputYaml?: string;
  generateCliSkeleton?: string | true;
  queueUrl?: string;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  cloudeventSource?: string;
  cloudeventType?: string;
}

/** `--cli-input-json` / `--cli-input-yaml`, checked as the AWS CLI checks them. */
function readCliInput(option: '--cli-input-json' | '--cli-input-yaml', value: string): Partial<FailureEvent> {
  const text = stringParameter(option, option.slice(2), value);
  let parsed: unknown;
  try {
    parsed = option === '--cli-input-json' ? JSON.parse(text) : parseYaml(text);
  } catch {
    throw new UsageError(`${option} is not valid ${option === '--cli-input-json' ? 'JSON' : 'YAML'}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${option} must be a ${option === '--cli-input-json' ? 'JSON' : 'YAML'} object`);
  }
  const unknown = Object.keys(parsed).filter((k) => !(PARAMETERS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new UsageError(
      `Parameter validation failed: Unknown parameter in input: "${unknown[0]}", must be one of: ${PARAMETERS.join(', ')}`,
    );
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (v !== null && typeof v !== 'string') {
      throw new UsageError(
        `Parameter validation failed: Invalid type for parameter ${k}, value: ${JSON.stringify(v)}, valid types: string`,
      );
    }
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

function eventFrom(o: Options): CallbackEvent {
  if (o.cliInputJson !== undefined && o.cliInputYaml !== undefined) {
    throw new UsageError('--cli-input-json and --cli-input-yaml cannot be given together');
  }
  const input =
    o.cliInputJson !== undefined
      ? readCliInput('--cli-input-json', o.cliInputJson)
      : o.cliInputYaml !== undefined
        ? readCliInput('--cli-input-yaml', o.cliInputYaml)
        : undefined;
  // Command-line values override the input document, as in the AWS CLI.
  const merged: Record<string, string | null | undefined> = { ...input };
  if (o.taskToken !== undefined) merged.taskToken = stringParameter('--task-token', 'taskToken', o.taskToken);
  if (o.error !== undefined) merged.error = stringParameter('--error', 'error', o.error);
  if (o.cause !== undefined) merged.cause = stringParameter('--cause', 'cause', o.cause);
  if (merged.taskToken === undefined || merged.taskToken === null) {
    throw new UsageError(
      input === undefined
        ? 'the following arguments are required: --task-token'
        : 'Parameter validation failed: Missing required parameter in input: "taskToken"',
    );
  }
  const checked = validateEvent(merged as never, DEFAULT_LIMITS);
  if (!checked.ok) throw new UsageError(`invalid event (${checked.reason}): ${checked.detail}`);
  return checked.event;
}

function cloudEventOption(o: Options): { source: string; type?: string } | undefined {
  if (o.cloudeventSource === undefined) {
    if (o.cloudeventType !== undefined) throw new UsageError('--cloudevent-type needs --cloudevent-source');
    return undefined;
  }
  const source = stringParameter('--cloudevent-source', 'source', o.cloudeventSource);
  if (source === '') throw new UsageError('--cloudevent-source must not be empty');
  if (o.cloudeventType === undefined) return { source };
  const type = stringParameter('--cloudevent-type', 'type', o.cloudeventType);
  if (type === '') throw new UsageError('--cloudevent-type must not be empty');
  return { source, type };
}

/** Arguments commander could not place: `Unknown options: --bogus, x`, as the AWS CLI words it. */
function refuseUnknown(command: Command): void {
  if (command.args.length > 0) throw new UsageError(`Unknown options: ${command.args.join(', ')}`);
}

export function registerSendTaskFailure(program: Command): void {
  program
    .command('send-task-failure')
    .description(
      'Publish a task failure to the relay queue (the options of `aws stepfunctions send-task-failure`, validated like the relay)',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .option('--task-token <token>', 'the task token of the task to fail')
    .option('--error <code>', 'the error code of the failure (≤ 256 characters)')
    .option('--cause <text>', 'a more detailed explanation of the cause (≤ 32,768 characters)')
    .option('--cli-input-json <json>', 'the event as JSON (a string or file://path); command-line values override it')
    .option('--cli-input-yaml <yaml>', 'the event as YAML (a string or file://path); command-line values override it')
    .option(
      '--generate-cli-skeleton [input|yaml-input|output]',
      'print the JSON input skeleton (no value or "input") or the YAML one ("yaml-input"), or validate and print nothing ("output")',
    )
    .option('--queue-url <url>', 'the relay source queue (default: $SOURCE_QUEUE_URL)')
    .option('--message-group-id <id>', 'FIFO queues (required) and fair queues: the message group')
    .option(
      '--message-deduplication-id <id>',
      'FIFO queues: the deduplication id (default: the SHA-256 of the published body, so a repeat within 5 minutes is dropped by SQS)',
    )
    .option(
      '--cloudevent-source <uri>',
      'publish the event as a structured CloudEvent 1.0 from this source (a URI reference, e.g. //orders/payment-worker)',
    )
    .option(
      '--cloudevent-type <type>',
      `with --cloudevent-source: the CloudEvent type (default: ${DEFAULT_CLOUDEVENT_TYPE})`,
    )
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)')
    .addHelpText(
      'after',
      `
Every parameter value may be file://PATH (the file's text, as the AWS CLI reads it: a trailing
newline is kept). fileb:// is refused for these string parameters, as by the AWS CLI v2.

Examples:
  $ sfn-relay send-task-failure --task-token "$TOKEN" --error PaymentDeclined --cause "card declined"
  $ sfn-relay send-task-failure --task-token file://token.txt --cause file://stacktrace.txt
  $ sfn-relay send-task-failure --cli-input-json file://failure.json --error Overridden
  $ sfn-relay send-task-failure --cli-input-yaml file://failure.yaml
  $ sfn-relay send-task-failure --generate-cli-skeleton yaml-input > failure.yaml
  $ sfn-relay send-task-failure --queue-url "$FIFO_URL" --message-group-id orders --task-token "$TOKEN"
  $ sfn-relay send-task-failure --cloudevent-source //orders/payment-worker --task-token "$TOKEN"

Stricter than Step Functions on purpose: a token with whitespace, control or format characters is
refused here (exit 252) instead of published, because Step Functions would refuse it later
(InvalidToken) and the relay would dead-letter it. The usual cause is a token file that ends in a
newline: write it with printf '%s' "$TOKEN" > token.txt.

Prints the SQS message id, labelled (MessageId: …). TRACEPARENT / TRACESTATE in the environment become the event's trace
context. Exit codes (the AWS CLI v2's): 0 published, 252 bad options or an invalid event,
253 no region or credentials, 254 SQS refused, 255 other errors (network).`,
    )
    .action(async (o: Options, command: Command) => {
      refuseUnknown(command);
      const mode = o.generateCliSkeleton === true ? 'input' : o.generateCliSkeleton;
      if (mode !== undefined && mode !== 'input' && mode !== 'yaml-input' && mode !== 'output') {
        throw new UsageError(`--generate-cli-skeleton takes "input", "yaml-input" or "output", got "${mode}"`);
      }
      if (mode === 'input' || mode === 'yaml-input') {
        process.stdout.write(mode === 'input' ? CLI_SKELETON : CLI_SKELETON_YAML);
        return;
      }
      const event = eventFrom(o);
      if (mode === 'output') return;
      const queueUrl = required(o.queueUrl ?? process.env.SOURCE_QUEUE_URL, 'queue-url', 'SOURCE_QUEUE_URL');
      const groupId =
        o.messageGroupId === undefined
          ? undefined
          : stringParameter('--message-group-id', 'MessageGroupId', o.messageGroupId);
      const dedupId =
        o.messageDeduplicationId === undefined
          ? undefined
          : stringParameter('--message-deduplication-id', 'MessageDeduplicationId', o.messageDeduplicationId);
      const cloudEvent = cloudEventOption(o);
      const sqs = sqsClient(o);
      try {
        const id = await publishTaskFailure(event, {
          sqs,
          queueUrl,
          traceContext: callerContext(),
          ...(groupId === undefined ? {} : { messageGroupId: groupId }),
          ...(dedupId === undefined ? {} : { messageDeduplicationId: dedupId }),
          ...(cloudEvent === undefined ? {} : { cloudEvent }),
        });
        process.stdout.write(`MessageId: ${id}\n`);
      } catch (err) {
        if (err instanceof InvalidEventError) throw new UsageError(err.message);
        if (err instanceof RelayError && err.code === 'FIFO_GROUP_REQUIRED') {
          throw new UsageError(`--message-group-id is required for the FIFO queue ${queueUrl}`);
        }
        throw err;
      } finally {
        sqs.destroy();
      }
    });
}
