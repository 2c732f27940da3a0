import { spawn } from 'node:child_process';
import { startSqs } from '../test/support/emulators.js';

const sqs = await startSqs();
const src = await sqs.createQueue('s');
const dlq = await sqs.createQueue('d');
async function once(extra: Record<string, string>): Promise<{ ms: number; rss: number }> {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const t0 = performance.now();
  const child = spawn(process.execPath, ['dist/main.js'], {
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
      ...extra,
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
  await new Promise((r) => setTimeout(r, 1500));
  const rss =
    Number(/VmRSS:\s+(\d+)/.exec((await import('node:fs')).readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) /
    1024;
  child.kill('SIGKILL');
  return { ms, rss };
}
for (const [name, env] of [
  ['off', { OTEL_TRACES_EXPORTER: 'none' }],
  ['on', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }],
] as const) {
  const r = [];
  for (let i = 0; i < 5; i++) r.push(await once(env));
  r.sort((a, b) => a.ms - b.ms);
  console.log(name, 'median ms', r[2]!.ms.toFixed(0), 'rss', r.map((x) => x.rss.toFixed(0)).join(','));
}
await sqs.stop();
