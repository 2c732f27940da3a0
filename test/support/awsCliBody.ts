/** What the AWS CLI v2 sends to Step Functions: the reference a published body is compared with. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireAwsCliV2 } from './tools.js';

/** The request body `aws stepfunctions <command> <args>` sends, parsed (a local server answers `{}`). */
export async function awsCliBody(args: string[], command = 'send-task-failure'): Promise<unknown> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d;
    });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const child = spawn(
      requireAwsCliV2(),
      ['stepfunctions', command, ...args, '--endpoint-url', `http://127.0.0.1:${port}`],
      {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_ACCESS_KEY_ID: 'x',
          AWS_SECRET_ACCESS_KEY: 'y',
          AWS_REGION: 'us-east-1',
        },
        stdio: 'ignore',
      },
    );
    const code = await new Promise((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`aws exited ${code}`);
  } finally {
    server.close();
  }
  return JSON.parse(bodies[0] ?? 'null');
}
