/**
 * `npm run demo`: the main job on embedded emulators, no AWS account. Starts fauxqs (SQS) and
 * stepfunctions-local, runs a few executions, publishes failure events (plain, SNS, EventBridge,
 * duplicates, poison, an unknown token), runs the relay, prints what happened, exits 0.
 */

import { readDeadLetterInfo } from '../src/pipeline/deadLetter.js';
import { loadConfig } from '../src/service/config.js';
import { startService } from '../src/service/service.js';
import {
  createActivityMachine,
  executionFailure,
  queueCounts,
  startExecutionsWithTokens,
  startSfn,
  startSqs,
} from '../test/support/emulators.js';
import { drainQueue, publish } from '../test/support/queue.js';
import { waitFor } from '../test/support/wait.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  out('Starting the SQS emulator (fauxqs) and the Step Functions emulator (stepfunctions-local)…');
  const [sqs, sfn] = await Promise.all([startSqs(), startSfn()]);
  try {
    const source = await sqs.createQueue('task-failures');
    const dlq = await sqs.createQueue('task-failures-dlq');
    const machine = await createActivityMachine(sfn.client, 'demo-worker');
    const tasks = await startExecutionsWithTokens(sfn.client, machine, 5);
    out(`Started ${tasks.length} executions; each waits on an Activity task holding a task token.`);

    const event = (i: number) => ({
      taskToken: tasks[i]?.token ?? '',
      error: ['PaymentDeclined', 'Timeout', 'BadInput', 'Upstream503', 'OutOfStock'][i] ?? 'Error',
      cause: `worker ${i} gave up`,
    });
    const bodies = [
      JSON.stringify(event(0)),
      JSON.stringify(event(0)), // duplicate
      JSON.stringify(event(1)),
      JSON.stringify({ Type: 'Notification', Message: JSON.stringify(event(2)) }), // SNS
      JSON.stringify({ Type: 'Notification', Message: JSON.stringify(event(2)) }), // duplicate via SNS
      JSON.stringify({ 'detail-type': 'Task Failed', source: 'demo', detail: event(3) }), // EventBridge
      JSON.stringify(event(4)),
      JSON.stringify(event(4)), // duplicate
      'this is not JSON', // poison
      JSON.stringify({ taskToken: 'has whitespace in it' }), // poison
      JSON.stringify({ taskToken: '00000000-0000-4000-8000-000000000000', error: 'Unknown' }), // unknown token
    ];
    await publish(sqs.client, source, bodies);
    out(`Published ${bodies.length} failure events (3 duplicates, 2 poison, 1 unknown token).`);

    const config = loadConfig({
      SOURCE_QUEUE_URL: source,
      DLQ_URL: dlq,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
      HTTP_PORT: '0',
      WAIT_TIME_SECONDS: '1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    });
    const service = await startService(config);
    out(`Relay running (health and metrics on http://127.0.0.1:${service.port}/metrics).`);
    await waitFor('the source queue to empty', () => queueCounts(sqs.server, 'task-failures').total === 0);
    const results = await waitFor('the executions to fail', async () => {
      const r = await Promise.all(tasks.map((t) => executionFailure(sfn.client, t.executionArn)));
      return r.every((x) => x.status === 'FAILED' && x.activityFailedEvents > 0) ? r : undefined;
    });
    const finished = (await service.metrics.finished.get()).values;
    await service.stop();

    out();
    out('Executions');
    out(`  ${'execution'.padEnd(12)} ${'status'.padEnd(8)} ${'error'.padEnd(16)} cause`);
    results.forEach((r, i) => {
      const id = (tasks[i]?.executionArn.split(':').at(-1) ?? '').slice(0, 8);
      out(`  ${`${id}…`.padEnd(12)} ${String(r.status).padEnd(8)} ${String(r.error).padEnd(16)} ${r.cause}`);
    });

    out();
    out('Messages by outcome');
    // What happened only: the metric also carries a zero series for every outcome that did not.
    const byOutcome = new Map<string, number>();
    for (const v of finished) {
      if (v.value === 0) continue;
      const key = `${v.labels.outcome}${v.labels.reason ? ` (${v.labels.reason})` : ''}`;
      byOutcome.set(key, (byOutcome.get(key) ?? 0) + v.value);
    }
    for (const [k, v] of [...byOutcome].sort()) out(`  ${String(v).padStart(3)}  ${k}`);

    out();
    out('Dead-letter queue');
    for (const m of await drainQueue(sqs.client, dlq)) {
      const info = readDeadLetterInfo(m);
      out(`  ${String(info?.reason).padEnd(26)} ${info?.detail.slice(0, 60)}`);
      out(`  ${''.padEnd(26)} body: ${String(m.Body).slice(0, 60)}`);
    }
    out();
    out('Each task was failed once; duplicates were suppressed; poison went to the DLQ with its reason.');
  } finally {
    await Promise.all([sqs.stop(), sfn.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
