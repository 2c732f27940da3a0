import type { Command } from 'commander';
import { publishTaskSuccess } from '../aws/publish.js';
import { DEFAULT_LIMITS, validateEvent } from '../core/event.js';
import { checkOutput } from '../core/eventKind.js';
import { UsageError } from './common.js';
import { EXIT_HELP, type Fields, registerSendTask, SHARED_HELP } from './sendTask.js';

/** What `aws stepfunctions send-task-success --generate-cli-skeleton` prints, byte for byte. */
export const SUCCESS_SKELETON = `${JSON.stringify({ taskToken: '', output: '' }, null, 4)}\n`;

/** What the AWS CLI v2 prints for `send-task-success --generate-cli-skeleton yaml-input`, byte for byte. */
export const SUCCESS_SKELETON_YAML = `taskToken: ''  # [REQUIRED] The token that represents this task.
output: '' # [REQUIRED] The JSON output of the task.
`;

/** The relay's checks, before anything is sent: the token, then the output (JSON text, ≤ 256 KiB). */
function checked(fields: Fields): { taskToken: string; output: string } {
  const token = validateEvent({ taskToken: fields.taskToken ?? null }, DEFAULT_LIMITS);
  if (!token.ok) throw new UsageError(`invalid event (${token.reason}): ${token.detail}`);
  const output = checkOutput(fields.output);
  if (!output.ok) throw new UsageError(`invalid event (${output.reason}): ${output.detail}`);
  return { taskToken: token.event.taskToken, output: output.output };
}

export function registerSendTaskSuccess(program: Command): void {
  registerSendTask(program, {
    command: 'send-task-success',
    kind: 'success',
    description:
      'Publish a task success to the relay queue (the options of `aws stepfunctions send-task-success`, validated like the relay)',
    parameters: [
      {
        option: '--task-token',
        key: 'taskToken',
        value: 'token',
        help: 'the task token of the task that succeeded',
        required: true,
      },
      {
        option: '--task-output',
        key: 'output',
        value: 'json',
        help: 'the task\'s output: JSON text of at most 262,144 UTF-8 bytes (the input document\'s "output")',
        required: true,
      },
    ],
    skeletonJson: SUCCESS_SKELETON,
    skeletonYaml: SUCCESS_SKELETON_YAML,
    validate: checked,
    publish: publishTaskSuccess,
    helpAfter: `
${SHARED_HELP}

The output is --task-output, as in the AWS CLI v2, whose --output is the global output format
(json, text, table, yaml, yaml-stream): --output is accepted with those values and changes nothing
here; any other value is refused (exit 252), so --output '{"a":1}' never publishes.

Publishes {"taskToken": …, "output": …, "kind": "success"}; the relay calls SendTaskSuccess when
CALLBACK_KINDS includes success (else it dead-letters the event as kind_not_enabled, never a failure).

Examples:
  $ sfn-relay send-task-success --task-token "$TOKEN" --task-output '{"orderId": 42}'
  $ sfn-relay send-task-success --task-token file://token.txt --task-output file://result.json
  $ sfn-relay send-task-success --cli-input-json file://success.json
  $ sfn-relay send-task-success --generate-cli-skeleton yaml-input > success.yaml

${EXIT_HELP}`,
  });
}
