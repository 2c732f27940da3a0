import type { Command } from 'commander';
import { publishTaskHeartbeat } from '../aws/publish.js';
import { DEFAULT_LIMITS, validateEvent } from '../core/event.js';
import { UsageError } from './common.js';
import { EXIT_HELP, type Fields, registerSendTask, SHARED_HELP } from './sendTask.js';

/** What `aws stepfunctions send-task-heartbeat --generate-cli-skeleton` prints, byte for byte. */
export const HEARTBEAT_SKELETON = `${JSON.stringify({ taskToken: '' }, null, 4)}\n`;

/** What the AWS CLI v2 prints for `send-task-heartbeat --generate-cli-skeleton yaml-input`, byte for byte. */
export const HEARTBEAT_SKELETON_YAML = `taskToken: ''  # [REQUIRED] The token that represents this task.
`;

function checked(fields: Fields): { taskToken: string } {
  const token = validateEvent({ taskToken: fields.taskToken ?? null }, DEFAULT_LIMITS);
  if (!token.ok) throw new UsageError(`invalid event (${token.reason}): ${token.detail}`);
  return { taskToken: token.event.taskToken };
}

export function registerSendTaskHeartbeat(program: Command): void {
  registerSendTask(program, {
    command: 'send-task-heartbeat',
    kind: 'heartbeat',
    description:
      'Publish a task heartbeat to the relay queue (the options of `aws stepfunctions send-task-heartbeat`, validated like the relay)',
    parameters: [
      {
        option: '--task-token',
        key: 'taskToken',
        value: 'token',
        help: 'the task token of the task that is alive',
        required: true,
      },
    ],
    skeletonJson: HEARTBEAT_SKELETON,
    skeletonYaml: HEARTBEAT_SKELETON_YAML,
    defaultDedupId: 'a new UUID per heartbeat, so repeated heartbeats are never dropped by SQS',
    validate: checked,
    publish: publishTaskHeartbeat,
    helpAfter: `
${SHARED_HELP}

Publishes {"taskToken": …, "kind": "heartbeat"} (the skeleton's {"taskToken": …} alone would mean a
failure to the relay). The relay calls SendTaskHeartbeat when CALLBACK_KINDS includes heartbeat, at
most once per token per TASK_HEARTBEAT_MIN_INTERVAL_SECONDS. On a FIFO queue each heartbeat gets a new
deduplication id, so SQS never drops a repeated heartbeat.

Examples:
  $ sfn-relay send-task-heartbeat --task-token "$TOKEN"
  $ sfn-relay send-task-heartbeat --cli-input-json file://heartbeat.json

${EXIT_HELP}`,
  });
}
