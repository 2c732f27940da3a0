/**
 * The lean SendTaskFailure client owes what the SDK gave for free: these tests pin it to the SDK
 * (same SigV4 signature for the same request and time, same error codes from the same responses)
 * and check retries, the retry budget's limits and clock-skew correction.
 */

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanSfnClient } from '../../src/aws/sfnHttp.js';
import { Signer } from '../../src/aws/sigv4.js';
import { sendCallback, toSendResult } from '../../src/aws/stepFunctions.js';

/**
 * The SDK's signer takes a hash constructor, called with a secret for HMACs (as @smithy/hash-node
 * does); this is node's SHA-256 in that shape.
 */
function bytes(x: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof x === 'string') return x;
  return x instanceof ArrayBuffer ? Buffer.from(new Uint8Array(x)) : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

class Sha256 {
  readonly #secret: string | Buffer | undefined;
  #h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#secret = secret === undefined ? undefined : bytes(secret);
    this.#h = this.#fresh();
  }
  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#h.digest();
  }
  reset(): void {
    this.#h = this.#fresh();
  }
}

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const session = { ...creds, sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN' };

const BODIES = {
  SendTaskFailure: JSON.stringify({ taskToken: 'AAAAKgAAAAIAAAAAAAAAAQ+/=', error: 'E', cause: 'ünïcode ☃' }),
  SendTaskSuccess: JSON.stringify({ taskToken: 'AAAAKgAAAAIAAAAAAAAAAQ+/=', output: '{"résumé":"☃","n":[1,2]}' }),
  SendTaskHeartbeat: JSON.stringify({ taskToken: 'AAAAKgAAAAIAAAAAAAAAAQ+/=' }),
};

describe('Signer', () => {
  it.each([
    ['long-term credentials', creds, 'SendTaskFailure'],
    ['session credentials', session, 'SendTaskFailure'],
    ['long-term credentials', creds, 'SendTaskSuccess'],
    ['session credentials', session, 'SendTaskHeartbeat'],
  ] as const)('produces the SDK’s SigV4 signature (%s, %s)', async (_name, c, operation) => {
    const body = BODIES[operation];
    const now = Date.UTC(2026, 10, 25, 13, 5, 1);
    const ours = new Signer('eu-west-1').sign(
      'states.eu-west-1.amazonaws.com',
      `AWSStepFunctions.${operation}`,
      body,
      c,
      now,
    );
    const { authorization, ...signed } = ours;
    // applyChecksum off: Step Functions does not need x-amz-content-sha256, so both sign the same headers.
    const sdk = new SignatureV4({
      applyChecksum: false,
      credentials: c,
      region: 'eu-west-1',
      service: 'states',
      sha256: Sha256,
    });
    const request = new HttpRequest({
      method: 'POST',
      protocol: 'https:',
      hostname: 'states.eu-west-1.amazonaws.com',
      path: '/',
      headers: signed,
      body,
    });
    const sdkSigned = await sdk.sign(request, { signingDate: new Date(now) });
    expect(authorization).toBe(sdkSigned.headers.authorization);
    // The key is derived once per day and reused: a second request signs identically.
    expect(
      new Signer('eu-west-1').sign('states.eu-west-1.amazonaws.com', `AWSStepFunctions.${operation}`, body, c, now)
        .authorization,
    ).toBe(authorization);
  });
});

interface Canned {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

let server: Server;
let endpoint = '';
let script: Canned[] = [];
const seen: IncomingHttpHeaders[] = [];
const bodies: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      const next = script.shift() ?? { status: 200, body: '{}' };
      res.writeHead(next.status, { 'content-type': 'application/x-amz-json-1.0', ...next.headers }).end(next.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function lean(maxAttempts = 1, now = Date.now) {
  return new LeanSfnClient({
    region: 'us-east-1',
    endpoint,
    maxAttempts,
    requestTimeoutMs: 2000,
    credentials: async () => creds,
    sleep: async () => undefined,
    now,
  });
}

const event = { taskToken: 'tok-123', error: 'E', cause: 'C' };

describe('LeanSfnClient', () => {
  const responses: [string, Canned][] = [
    [
      'header error type',
      { status: 400, headers: { 'x-amzn-errortype': 'TaskTimedOut:http://internal' }, body: '{"message":"closed"}' },
    ],
    [
      'body __type with namespace',
      { status: 400, body: '{"__type":"com.amazonaws.swf.service.model.v20160601#TaskDoesNotExist","message":"gone"}' },
    ],
    ['throttling', { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' }],
    ['kms access', { status: 400, body: '{"__type":"KmsAccessDeniedException","message":"denied"}' }],
    ['server error, no body', { status: 503, body: '' }],
  ];

  it.each(responses)('reads the error code as the SDK does: %s', async (_name, canned) => {
    script = [canned];
    const ours = await lean().sendTaskFailure(event);
    script = [canned];
    const sdk = new SFNClient({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: creds });
    let sdkResult: ReturnType<typeof toSendResult> | undefined;
    try {
      await sdk.send(new SendTaskFailureCommand(event));
    } catch (err) {
      sdkResult = toSendResult(err, event.taskToken);
    }
    sdk.destroy();
    expect(ours.ok).toBe(false);
    expect(!ours.ok && [ours.errorName, ours.httpStatus]).toEqual(
      sdkResult && !sdkResult.ok && [sdkResult.errorName, sdkResult.httpStatus],
    );
  });

  it('takes the x-amzn-errortype header over the body’s __type, as the awsJson1_0 protocol says', async () => {
    // The SDK of this writing reads the body first; real responses carry the same code in both.
    script = [
      { status: 400, headers: { 'x-amzn-errortype': 'InvalidToken' }, body: '{"__type":"Other","message":"x"}' },
    ];
    expect(await lean().sendTaskFailure(event)).toMatchObject({
      ok: false,
      errorName: 'InvalidToken',
      httpStatus: 400,
    });
  });

  it('succeeds on 200 and signs every request', async () => {
    script = [{ status: 200, body: '{}' }];
    seen.length = 0;
    expect(await lean().sendTaskFailure(event)).toEqual({ ok: true, attempts: 1 });
    expect(seen[0]?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/states\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(seen[0]?.['x-amz-target']).toBe('AWSStepFunctions.SendTaskFailure');
  });

  it('retries throttling and 5xx up to maxAttempts, but not a client error', async () => {
    script = [
      { status: 400, body: '{"__type":"ThrottlingException"}' },
      { status: 503, body: '' },
      { status: 200, body: '{}' },
    ];
    expect(await lean(3).sendTaskFailure(event)).toEqual({ ok: true, attempts: 3 });
    script = [
      { status: 400, body: '{"__type":"InvalidToken","message":"Invalid token: tok-123"}' },
      { status: 200, body: '{}' },
    ];
    const r = await lean(3).sendTaskFailure(event);
    expect(r).toMatchObject({ ok: false, errorName: 'InvalidToken', attempts: 1 });
    // The token the service quoted is scrubbed from the message.
    expect(!r.ok && r.message).not.toContain('tok-123');
    script = [];
  });

  it('corrects for clock skew with the server’s Date and retries once', async () => {
    const skewed = () => Date.now() - 20 * 60_000;
    script = [
      {
        status: 400,
        headers: { date: new Date().toUTCString() },
        body: '{"__type":"InvalidSignatureException","message":"Signature expired"}',
      },
      { status: 200, body: '{}' },
    ];
    seen.length = 0;
    expect(await lean(1, skewed).sendTaskFailure(event)).toEqual({ ok: true, attempts: 2 });
    const second = seen[1]?.['x-amz-date'] ?? '';
    const serverish = new Date().toISOString().replace(/[-:]/g, '').slice(0, 11);
    expect(second.slice(0, 11)).toBe(serverish);
  });

  it('keeps an error name only in a safe shape, never token-shaped, on both the lean and the SDK path', async () => {
    const token = 'AAAAKgAAAAIAAAAAAAAAAbcdefTOKEN0123456789abcdef';
    const withToken = { ...event, taskToken: token };
    const hostile: [Canned, string][] = [
      [{ status: 400, body: JSON.stringify({ code: `no task for token ${token}`, message: 'x' }) }, 'UnknownError'],
      [{ status: 400, body: JSON.stringify({ __type: `com.amazonaws#${token}`, message: 'x' }) }, 'UnknownError'],
      [{ status: 400, headers: { 'x-amzn-errortype': `${token}:http://x` }, body: '{}' }, 'UnknownError'],
      [{ status: 400, body: JSON.stringify({ code: `Bad${'x'.repeat(80)}`, message: 'x' }) }, 'UnknownError'],
      [{ status: 400, body: JSON.stringify({ code: 'ns#Weird\nName', message: 'x' }) }, 'UnknownError'],
      [
        { status: 400, body: JSON.stringify({ __type: 'com.amazonaws#InvalidToken:http://x', message: 'x' }) },
        'InvalidToken',
      ],
    ];
    for (const [canned, expected] of hostile) {
      script = [canned];
      const ours = await lean().sendTaskFailure(withToken);
      expect(ours, JSON.stringify(canned)).toMatchObject({ ok: false, errorName: expected });
      expect(JSON.stringify(ours)).not.toContain(token.slice(0, 20));
    }
    // The SDK path: an error whose name an endpoint wrote.
    const sdkError = Object.assign(new Error('x'), { name: `token ${token}`, $metadata: { httpStatusCode: 400 } });
    expect(toSendResult(sdkError, token)).toMatchObject({ errorName: 'UnknownError' });
    const named = Object.assign(new Error('x'), { name: token, $metadata: { httpStatusCode: 400 } });
    expect(toSendResult(named, token)).toMatchObject({ errorName: 'UnknownError' });
  });

  it('reports a network failure as a retryable error name', async () => {
    const dead = new LeanSfnClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 2,
      requestTimeoutMs: 500,
      credentials: async () => creds,
      sleep: async () => undefined,
    });
    const r = await dead.sendTaskFailure(event);
    expect(r).toMatchObject({ ok: false, errorName: 'ECONNREFUSED', attempts: 2 });
    await dead.close();
  });

  it.each([
    ['failure', () => new SendTaskFailureCommand({ taskToken: 'tok-1', error: 'E', cause: 'ü ☃' })],
    ['success', () => new SendTaskSuccessCommand({ taskToken: 'tok-1', output: '{"a":"ü ☃","b":[1,null]}' })],
    ['heartbeat', () => new SendTaskHeartbeatCommand({ taskToken: 'tok-1' })],
  ] as const)(
    'sends the SDK’s request for a %s: same target, content type and body, byte for byte',
    async (kind, sdkCommand) => {
      const events = {
        failure: { kind: 'failure', taskToken: 'tok-1', error: 'E', cause: 'ü ☃' },
        success: { kind: 'success', taskToken: 'tok-1', output: '{"a":"ü ☃","b":[1,null]}' },
        heartbeat: { kind: 'heartbeat', taskToken: 'tok-1' },
      } as const;
      script = [
        { status: 200, body: '{}' },
        { status: 200, body: '{}' },
        { status: 200, body: '{}' },
      ];
      seen.length = 0;
      bodies.length = 0;
      const sdk = new SFNClient({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: creds });
      await sdk.send(sdkCommand() as SendTaskFailureCommand);
      sdk.destroy();
      expect(await lean().send(events[kind])).toEqual({ ok: true, attempts: 1 });
      expect(bodies[1]).toBe(bodies[0]);
      for (const header of ['x-amz-target', 'content-type']) expect(seen[1]?.[header]).toBe(seen[0]?.[header]);
      expect(seen[1]?.['x-amz-target']).toBe(`AWSStepFunctions.SendTask${kind[0]?.toUpperCase()}${kind.slice(1)}`);
      expect(seen[1]?.authorization).toMatch(/SignedHeaders=content-type;host;x-amz-date;x-amz-target,/);
      // The relay's own `kind` never goes on the wire.
      expect(bodies[1]).not.toContain('"kind"');
      // The SDK path (SFN_CLIENT=sdk) picks the same command by kind.
      const viaSdk = new SFNClient({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: creds });
      expect(await sendCallback(viaSdk, events[kind])).toEqual({ ok: true, attempts: 1 });
      viaSdk.destroy();
      expect(bodies[2]).toBe(bodies[0]);
      expect(seen[2]?.['x-amz-target']).toBe(seen[0]?.['x-amz-target']);
    },
  );
});
