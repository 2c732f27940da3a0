/**
 * What `send-task-failure`, `send-task-success` and `send-task-heartbeat` share: the AWS CLI v2's
 * parameter handling (`--cli-input-json` / `--cli-input-yaml`, file:// values, command-line values
 * overriding the input document, `--generate-cli-skeleton`), the queue options, and publishing.
 * Each command is a `SendTaskSpec`: its parameters, its skeletons, its check and its publish call.
 */
import type { Command } from 'commander';
import { CLOUDEVENT_TYPES, type PublishOptions } from '../aws/publish.js';
import { InvalidEventError, RelayError } from '../core/errors.js';
import { type AwsOptions, required, sqsClient, UsageError } from './common.js';
import { stringParameter } from './paramfile.js';
import { callerContext, cloudEventOption, type PublishCliOptions, readCliInput } from './sendTaskInput.js';

/** One API parameter: its command-line option and its key in the input document. */
export interface TaskParameter {
  option: string;
  key: string;
  /** `<value>` placeholder and help text for commander. */
  value: string;
  help: string;
  required: boolean;
}

export type Fields = Record<string, string>;

export interface SendTaskSpec<E> {
  command: string;
  kind: keyof typeof CLOUDEVENT_TYPES;
  description: string;
  parameters: readonly TaskParameter[];
  /** `aws stepfunctions <command> --generate-cli-skeleton` (input) and `yaml-input`, byte for byte. */
  skeletonJson: string;
  skeletonYaml: string;
  /** The event to publish; throws a UsageError when the relay would refuse it. */
  validate: (fields: Fields) => E;
  publish: (event: E, options: PublishOptions) => Promise<string>;
  helpAfter: string;
  /** How the default FIFO deduplication id is made, when not the body's SHA-256. */
  defaultDedupId?: string;
}

/** The AWS CLI's global `--output`: a format, never the task's output (that is `--task-output`). */
export const OUTPUT_FORMATS = ['json', 'text', 'table', 'yaml', 'yaml-stream'] as const;

interface Options extends AwsOptions, PublishCliOptions {
  cliInputJson?: string;
  cliInputYaml?: string;
  generateCliSkeleton?: string | true;
  output?: string;
  [option: string]: unknown;
}

/** `--task-token` → `taskToken`: the key commander stores an option's value under. */
const attributeOf = (option: string) => option.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function eventFrom<E>(spec: SendTaskSpec<E>, o: Options): E {
  if (o.cliInputJson !== undefined && o.cliInputYaml !== undefined) {
    throw new UsageError('--cli-input-json and --cli-input-yaml cannot be given together');
  }
  const keys = spec.parameters.map((p) => p.key);
  const input =
    o.cliInputJson !== undefined
      ? readCliInput('--cli-input-json', o.cliInputJson, keys)
      : o.cliInputYaml !== undefined
        ? readCliInput('--cli-input-yaml', o.cliInputYaml, keys)
        : undefined;
  // Command-line values override the input document, as in the AWS CLI.
  const merged: Record<string, string | null | undefined> = { ...input };
  for (const p of spec.parameters) {
    const value = o[attributeOf(p.option)];
    if (typeof value === 'string') merged[p.key] = stringParameter(p.option, p.key, value);
  }
  const missing = spec.parameters.filter((p) => p.required && (merged[p.key] === undefined || merged[p.key] === null));
  if (missing.length > 0) {
    throw new UsageError(
      input === undefined
        ? `the following arguments are required: ${missing.map((p) => p.option).join(', ')}`
        : `Parameter validation failed: Missing required parameter in input: "${missing[0]?.key}"`,
    );
  }
  const fields: Fields = {};
  for (const [k, v] of Object.entries(merged)) if (typeof v === 'string') fields[k] = v;
  return spec.validate(fields);
}

/** Arguments commander could not place: `Unknown options: --bogus, x`, as the AWS CLI words it. */
function refuseUnknown(command: Command): void {
  if (command.args.length > 0) throw new UsageError(`Unknown options: ${command.args.join(', ')}`);
}

function checkOutputFormat(value: string | undefined): void {
  if (value === undefined || (OUTPUT_FORMATS as readonly string[]).includes(value)) return;
  throw new UsageError(
    `argument --output: Invalid choice, valid choices are: ${OUTPUT_FORMATS.join(' | ')} (--output is the AWS CLI's output format; the task's JSON output is --task-output)`,
  );
}

async function publish<E>(spec: SendTaskSpec<E>, event: E, o: Options): Promise<void> {
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
    const id = await spec.publish(event, {
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
}

export function registerSendTask<E>(program: Command, spec: SendTaskSpec<E>): void {
  const command = program
    .command(spec.command)
    .description(spec.description)
    .allowUnknownOption()
    .allowExcessArguments();
  for (const p of spec.parameters) command.option(`${p.option} <${p.value}>`, p.help);
  command
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
      `FIFO queues: the deduplication id (default: ${spec.defaultDedupId ?? 'the SHA-256 of the published body, so a repeat within 5 minutes is dropped by SQS'})`,
    )
    .option(
      '--cloudevent-source <uri>',
      'publish the event as a structured CloudEvent 1.0 from this source (a URI reference, e.g. //orders/payment-worker)',
    )
    .option(
      '--cloudevent-type <type>',
      `with --cloudevent-source: the CloudEvent type (default: ${CLOUDEVENT_TYPES[spec.kind]})`,
    )
    .option('--output <format>', `accepted as the AWS CLI's global output format (${OUTPUT_FORMATS.join(', ')})`)
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .option('--endpoint-url <url>', 'SQS endpoint (default: $AWS_ENDPOINT_URL_SQS)')
    .addHelpText('after', spec.helpAfter)
    .action(async (o: Options, cmd: Command) => {
      refuseUnknown(cmd);
      checkOutputFormat(o.output);
      const mode = o.generateCliSkeleton === true ? 'input' : o.generateCliSkeleton;
      if (mode !== undefined && mode !== 'input' && mode !== 'yaml-input' && mode !== 'output') {
        throw new UsageError(`--generate-cli-skeleton takes "input", "yaml-input" or "output", got "${mode}"`);
      }
      if (mode === 'input' || mode === 'yaml-input') {
        process.stdout.write(mode === 'input' ? spec.skeletonJson : spec.skeletonYaml);
        return;
      }
      const event = eventFrom(spec, o);
      if (mode === 'output') return;
      await publish(spec, event, o);
    });
}

/** The help text every send-task command ends with: parameter files, exit codes. */
export const SHARED_HELP = `Every parameter value may be file://PATH (the file's text, as the AWS CLI reads it: a trailing
newline is kept). fileb:// is refused for these string parameters, as by the AWS CLI v2.`;

export const EXIT_HELP = `Prints the SQS message id, labelled (MessageId: …). TRACEPARENT / TRACESTATE in the environment become the event's trace
context. Exit codes (the AWS CLI v2's): 0 published, 252 bad options or an invalid event,
253 no region or credentials, 254 SQS refused, 255 other errors (network).`;
