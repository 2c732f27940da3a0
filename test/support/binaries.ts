/** Real servers the tests start: present, or one line naming the Debian package that brings them. */
import { spawnSync } from 'node:child_process';

const PACKAGES: Record<string, string> = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  unzip: 'unzip',
  openssl: 'openssl',
  prometheus: 'prometheus',
  promtool: 'prometheus',
};

export function requireBinary(name: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${name} is missing: apt-get install ${PACKAGES[name] ?? name}`);
  }
}
