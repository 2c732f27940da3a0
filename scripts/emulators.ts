/**
 * `npm run emulators [-- --executions N]`: the AWS stand-ins on fixed ports, for running the relay
 * and the CLI by hand without an AWS account. Starts fauxqs (SQS) and stepfunctions-local, creates
 * the queues (standard and FIFO) and a state machine with an Activity task, starts N executions
 * that wait on a task token, prints the environment to use and the tokens, and then a line each
 * time one of those executions ends. Ctrl-C stops it.
 *
 * Ports: EMULATOR_SQS_PORT (4566), EMULATOR_SFN_PORT (8083).
 */
import { createServer } from 'node:net';
import {
  createActivityMachine,
  executionFailure,
  REGION,
  startExecutionsWithTokens,
  startSfn,
  startSqs,
} from '../test/support/emulators.js';

const args = process.argv.slice(2);
const at = args.indexOf('--executions');
const EXECUTIONS = at === -1 ? 3 : Number(args[at + 1]);
const SQS_PORT = Number(process.env.EMULATOR_SQS_PORT ?? 4566);
const SFN_PORT = Number(process.env.EMULATOR_SFN_PORT ?? 8083);

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Whether something already listens on `port` (most likely the emulators of an earlier run). */
function inUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'));
    probe.listen(port, () => probe.close(() => resolve(false)));
  });
}

/** One line that says what is wrong and what to do, instead of a listen error and a stack trace. */
function portsTaken(taken: string[]): string {
  return (
    `emulators: ${taken.join(' and ')} already in use: are the emulators already running (npm run emulators ` +
    'in another terminal)? Use those, stop them (Ctrl-C there), or choose other ports: ' +
    `EMULATOR_SQS_PORT=${SQS_PORT + 1} EMULATOR_SFN_PORT=${SFN_PORT + 1} npm run emulators\n`
  );
}

async function main(): Promise<void> {
  if (!Number.isInteger(EXECUTIONS) || EXECUTIONS < 0) throw new Error('--executions takes a whole number');
  // Checked before anything starts, so that a second run neither half-starts nor prints a stack trace.
  const ports = [
    { port: SQS_PORT, what: `port ${SQS_PORT} (SQS, EMULATOR_SQS_PORT)` },
    { port: SFN_PORT, what: `port ${SFN_PORT} (Step Functions, EMULATOR_SFN_PORT)` },
  ];
  const taken = (await Promise.all(ports.map(async (p) => ((await inUse(p.port)) ? [p.what] : [])))).flat();
  if (taken.length > 0) {
    process.stderr.write(portsTaken(taken));
    process.exit(1);
  }
  const [sqs, sfn] = await Promise.all([startSqs(SQS_PORT), startSfn(SFN_PORT)]);
  const stop = async () => {
    await Promise.all([sqs.stop(), sfn.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const source = await sqs.createQueue('task-failures');
  const dlq = await sqs.createQueue('task-failures-dlq');
  const fifo = await sqs.createQueue('task-failures.fifo', { FifoQueue: 'true' });
  const fifoDlq = await sqs.createQueue('task-failures-dlq.fifo', { FifoQueue: 'true' });
  const machine = await createActivityMachine(sfn.client, 'relay-demo');
  const tasks = await startExecutionsWithTokens(sfn.client, machine, EXECUTIONS);

  out(`SQS (fauxqs) on ${sqs.endpoint}, Step Functions (stepfunctions-local) on ${sfn.endpoint}.`);
  out('');
  out('# In another terminal, this environment runs the relay (npm start) and the CLI (npx sfn-relay):');
  out('export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test');
  // No collector here: with tracing on, the relay would warn that it cannot export its spans.
  out('export OTEL_TRACES_EXPORTER=none');
  out(`export AWS_REGION=${REGION}`);
  out(`export AWS_ENDPOINT_URL_SQS=${sqs.endpoint}`);
  out(`export AWS_ENDPOINT_URL_SFN=${sfn.endpoint}`);
  out(`export SOURCE_QUEUE_URL=${source}`);
  out(`export DLQ_URL=${dlq}`);
  out(`# FIFO instead: SOURCE_QUEUE_URL=${fifo} DLQ_URL=${fifoDlq}`);
  out('');
  out(`# ${tasks.length} executions wait on these task tokens; fail one with:`);
  out('#   npx sfn-relay send-task-failure --task-token <token> --error Demo --cause "from the CLI"');
  for (const t of tasks) out(`token ${t.token}  execution ${t.executionArn}`);
  out('');
  out('Watching the executions (Ctrl-C stops the emulators)…');

  const open = new Map(tasks.map((t) => [t.executionArn, t]));
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const [arn] of open) {
      const r = await executionFailure(sfn.client, arn);
      if (r.status !== 'RUNNING' && (r.status !== 'FAILED' || r.activityFailedEvents > 0)) {
        open.delete(arn);
        out(
          `execution ${arn} ${r.status}${r.error === undefined ? '' : ` error=${r.error}`}${r.cause === undefined ? '' : ` cause=${r.cause}`}`,
        );
      }
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
