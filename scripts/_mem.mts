import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startSqs } from '../test/support/emulators.js';

const sqs = await startSqs();
const src = await sqs.createQueue('s');
const dlq = await sqs.createQueue('d');
for (const flags of ['', '--max-semi-space-size=1']) {
  const port = 19500 + Math.floor(Math.random() * 400);
  const t0 = performance.now();
  const child = spawn(process.execPath, [...flags.split(' ').filter(Boolean), 'dist/main.js'], {
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      AWS_REGION: 'us-east-1',
      SOURCE_QUEUE_URL: src,
      DLQ_URL: dlq,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      OTEL_TRACES_EXPORTER: 'none',
      DEDUP_MEMORY_MAX_MB: process.env.MB ?? '40',
    },
    stdio: 'ignore',
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  const early = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
  console.log('rss right at ready', early.toFixed(0));
  await new Promise((r) => setTimeout(r, 2000));
  const st = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const heap = /sfn_relay_nodejs_heap_size_used_bytes (\d+)/.exec(m)?.[1];
  const total = /sfn_relay_nodejs_heap_size_total_bytes (\d+)/.exec(m)?.[1];
  const ext = /sfn_relay_nodejs_external_memory_bytes (\d+)/.exec(m)?.[1];
  console.log(
    JSON.stringify(flags),
    'ready',
    ms.toFixed(0),
    'rss',
    (Number(/VmRSS:\s+(\d+)/.exec(st)?.[1]) / 1024).toFixed(0),
    'heapUsed',
    (Number(heap) / 1048576).toFixed(1),
    'heapTotal',
    (Number(total) / 1048576).toFixed(1),
    'external',
    (Number(ext) / 1048576).toFixed(1),
  );
  child.kill('SIGKILL');
}
await sqs.stop();
