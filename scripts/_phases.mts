import { spawn } from 'node:child_process';
import { startSqs } from '../test/support/emulators.js';

const sqs = await startSqs();
const src = await sqs.createQueue('s');
const dlq = await sqs.createQueue('d');
for (let i = 0; i < 3; i++) {
  const c = spawn(process.execPath, ['/tmp/phases.mjs'], {
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      AWS_REGION: 'us-east-1',
      SOURCE_QUEUE_URL: src,
      DLQ_URL: dlq,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:1',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      OTEL_TRACES_EXPORTER: 'none',
      WAIT_TIME_SECONDS: '1',
    },
  });
  let out = '';
  c.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise((r) => c.on('exit', r));
  console.log(out.replace(/\n/g, ' | '));
}
await sqs.stop();
