/**
 * A real redis-server that speaks only TLS, with certificates the test makes (openssl): a CA,
 * and a server certificate for 127.0.0.1 and localhost signed by it; a second, unrelated CA to
 * show what a wrong one does. A password, so AUTH is exercised too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { requireBinary } from './binaries.js';
import { openssl, selfSigned } from './certs.js';
import { freePort, waitFor } from './wait.js';

export interface RedisTlsHandle {
  port: number;
  password: string;
  caFile: string;
  wrongCaFile: string;
  /** rediss://:password@127.0.0.1:port */
  url: string;
  stop(): Promise<void>;
}

export async function startRedisTls(): Promise<RedisTlsHandle> {
  requireBinary('redis-server');
  requireBinary('openssl');
  const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
  selfSigned(dir, 'ca');
  selfSigned(dir, 'other-ca');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  );
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.pem',
  );
  const port = await freePort();
  const password = 'tls-test-password';
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-cert-file',
      join(dir, 'server.pem'),
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'ca.pem'),
      '--tls-auth-clients',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: 'ignore' },
  );
  const caFile = join(dir, 'ca.pem');
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    password,
    tls: { ca: [readFileSync(caFile, 'utf8')] },
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await waitFor(`redis-server with TLS on ${port}`, async () => {
      if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
      return (await probe.ping()) === 'PONG';
    });
  } finally {
    probe.disconnect();
  }
  return {
    port,
    password,
    caFile,
    wrongCaFile: join(dir, 'other-ca.pem'),
    url: `rediss://:${password}@127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
