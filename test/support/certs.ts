/** Certificates of a test's own, made with openssl (Debian's `openssl`). */
import { spawnSync } from 'node:child_process';

export function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A self-signed RSA certificate `<name>.pem` and its key `<name>.key` in `dir`, valid two days. */
export function selfSigned(dir: string, name: string, commonName = name): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  );
}
