/**
 * Real AWS stand-ins, started by the tests on free loopback ports: fauxqs (SQS) in-process and
 * stepfunctions-local (Step Functions JSON API) as a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  CreateActivityCommand,
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetActivityTaskCommand,
  GetExecutionHistoryCommand,
  ListActivitiesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { createSqsClient } from '../../src/aws/sqs.js';
import { freePort, waitFor } from './wait.js';

export const REGION = 'us-east-1';

// The SDK clients sign requests; the emulators accept any credentials.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

export interface SqsEmulator {
  endpoint: string;
  server: FauxqsServer;
  client: SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export async function startSqs(port = 0): Promise<SqsEmulator> {
  const server = await startFauxqs({ port, logger: false, host: '127.0.0.1' });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = createSqsClient(REGION, endpoint);
  return {
    endpoint,
    server,
    client,
    async createQueue(name, attributes) {
      const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      if (out.QueueUrl === undefined) throw new Error('CreateQueue returned no URL');
      return out.QueueUrl;
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}

export interface SfnEmulator {
  endpoint: string;
  client: SFNClient;
  stop(): Promise<void>;
}

export async function startSfn(fixedPort?: number): Promise<SfnEmulator> {
  const require = createRequire(import.meta.url);
  const bin = require.resolve('stepfunctions-local/bin/stepfunctions-local-start.js');
  const port = fixedPort ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, [bin, '--port', String(port), '--region', REGION], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SFNClient({ region: REGION, endpoint, maxAttempts: 1 });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`stepfunctions-local exited with ${code}`)));
  });
  exited.catch(() => undefined);
  // No health endpoint: an API call that answers is the readiness signal.
  await Promise.race([
    exited,
    waitFor('stepfunctions-local to answer', async () => {
      await client.send(new ListActivitiesCommand({}));
      return true;
    }),
  ]);
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * A state machine with one Activity task, so executions wait for our callback. `heartbeatSeconds`:
 * the task times out (States.Timeout) without a heartbeat for that long.
 */
export async function createActivityMachine(
  sfn: SFNClient,
  name: string,
  options: { heartbeatSeconds?: number } = {},
): Promise<{ activityArn: string; stateMachineArn: string }> {
  const activity = await sfn.send(new CreateActivityCommand({ name }));
  const activityArn = activity.activityArn ?? '';
  const heartbeat = options.heartbeatSeconds === undefined ? {} : { HeartbeatSeconds: options.heartbeatSeconds };
  const definition = {
    StartAt: 'Work',
    States: { Work: { Type: 'Task', Resource: activityArn, End: true, ...heartbeat } },
  };
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name: `${name}-machine`,
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::123456789012:role/relay-test',
    }),
  );
  return { activityArn, stateMachineArn: machine.stateMachineArn ?? '' };
}

/**
 * Starts `count` executions and takes the task token of each from the activity. GetActivityTask
 * does not long-poll in the emulator and may answer without a token: loop until all are taken.
 */
export async function startExecutionsWithTokens(
  sfn: SFNClient,
  machine: { activityArn: string; stateMachineArn: string },
  count: number,
): Promise<{ executionArn: string; token: string }[]> {
  const executionArns: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, input: JSON.stringify({ i }) }),
    );
    executionArns.push(out.executionArn ?? '');
  }
  const byInput = new Map<number, string>();
  await waitFor(
    `${count} activity tasks`,
    async () => {
      const task = await sfn.send(new GetActivityTaskCommand({ activityArn: machine.activityArn }));
      if (task.taskToken !== undefined && task.taskToken !== null && task.input !== undefined) {
        const input = JSON.parse(task.input) as { i: number };
        byInput.set(input.i, task.taskToken);
      }
      return byInput.size === count;
    },
    { intervalMs: 1, timeoutMs: 60_000 },
  );
  return executionArns.map((executionArn, i) => ({ executionArn, token: byInput.get(i) ?? '' }));
}

export interface ExecutionFailure {
  status: string | undefined;
  /** From the ActivityFailed history event: the emulator's DescribeExecution omits them and its ExecutionFailed swaps them. */
  error: string | undefined;
  cause: string | undefined;
  activityFailedEvents: number;
}

export async function executionFailure(sfn: SFNClient, executionArn: string): Promise<ExecutionFailure> {
  const [described, history] = await Promise.all([
    sfn.send(new DescribeExecutionCommand({ executionArn })),
    sfn.send(new GetExecutionHistoryCommand({ executionArn })),
  ]);
  const failed = (history.events ?? []).filter((e) => e.type === 'ActivityFailed');
  const details = failed[0]?.activityFailedEventDetails;
  return {
    status: described.status,
    error: details?.error,
    cause: details?.cause,
    activityFailedEvents: failed.length,
  };
}

/** Messages still in a fauxqs queue: ready, delayed and in flight. */
export function queueCounts(
  server: FauxqsServer,
  queueName: string,
): { ready: number; delayed: number; inflight: number; total: number } {
  const q = server.inspectQueue(queueName);
  if (q === undefined) throw new Error(`no queue ${queueName}`);
  const ready = q.messages.ready.length;
  const delayed = q.messages.delayed.length;
  const inflight = q.messages.inflight.length;
  return { ready, delayed, inflight, total: ready + delayed + inflight };
}

/** Waits until every execution is FAILED with exactly one ActivityFailed event (failed once). */
export async function waitForFailedOnce(
  sfn: SFNClient,
  tasks: { executionArn: string }[],
  timeoutMs = 30_000,
): Promise<ExecutionFailure[]> {
  return waitFor(
    `${tasks.length} executions to be FAILED once`,
    async () => {
      const results = await Promise.all(tasks.map((t) => executionFailure(sfn, t.executionArn)));
      return results.every((r) => r.status === 'FAILED' && r.activityFailedEvents === 1) ? results : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}
