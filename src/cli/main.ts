#!/usr/bin/env node
/**
 * The `sfn-relay` launcher. The command needs Node.js 24: on an older Node it re-runs itself on the
 * project's own Node 24 (the `node` dev dependency of a clone), or refuses with one line — before
 * anything else is loaded, so no library prints its own warnings first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NEEDED = 24;
const major = Number(process.versions.node.split('.')[0]);

if (major >= NEEDED) {
  const { main } = await import('./program.js');
  await main(process.argv);
} else {
  const own = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));
  if (existsSync(own)) {
    const r = spawnSync(own, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? 255);
  }
  process.stderr.write(
    `sfn-relay: needs Node.js ${NEEDED} or later, this is ${process.version}; install Node.js ${NEEDED}, or run it from a clone with npx sfn-relay\n`,
  );
  process.exit(255);
}
