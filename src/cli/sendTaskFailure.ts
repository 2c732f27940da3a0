import type { Command } from 'commander';
import { publishTaskFailure } from '../aws/publish.js';
import { DEFAULT_LIMITS, validateEvent } from '../core/event.js';
import { UsageError } from './common.js';
import { EXIT_HELP, type Fields, registerSendTask, SHARED_HELP } from './sendTask.js';

/** What `aws stepfunctions send-task-failure --generate-cli-skeleton` prints, byte for byte. */
export const CLI_SKELETON = `${JSON.stringify({ taskToken: '', error: '', cause: '' }, null, 4)}\n`;

/** What the AWS CLI v2 prints for `--generate-cli-skeleton yaml-input`, byte for byte. */
export const CLI_SKELETON_YAML = `taskToken: ''  # [REQUIRED] The token that represents this task.
error: '' # The error code of the failure.
cause: '' # A more detailed explanation of the cause of the failure.
`;

/** The relay's own validator: what it would dead-letter is refused here (exit 252). */
function checked(fields: Fields) {
  const r = validateEvent(fields, DEFAULT_LIMITS);
  if (!r.ok) throw new UsageError(`invalid event (${r.reason}): ${r.detail}`);
  return r.event;
}

export function registerSendTaskFailure(program: Command): void {
  registerSendTask(program, {
    command: 'send-task-failure',
    kind: 'failure',
    description:
      'Publish a task failure to the relay queue (the options of `aws stepfunctions send-task-failure`, validated like the relay)',
    parameters: [
      {
        option: '--task-token',
        key: 'taskToken',
        value: 'token',
        help: 'the task token of the task to fail',
        required: true,
      },
      {
        option: '--error',
        key: 'error',
        value: 'code',
        help: 'the error code of the failure (≤ 256 characters)',
        required: false,
      },
      {
        option: '--cause',
        key: 'cause',
        value: 'text',
        help: 'a more detailed explanation of the cause (≤ 32,768 characters)',
        required: false,
      },
    ],
    skeletonJson: CLI_SKELETON,
    skeletonYaml: CLI_SKELETON_YAML,
    validate: checked,
    publish: publishTaskFailure,
    helpAfter: `
${SHARED_HELP}

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

${EXIT_HELP}`,
  });
}
