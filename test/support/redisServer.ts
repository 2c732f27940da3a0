/** A Redis server of the test's own, so a test can take it away without disturbing the others. */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './wait.js';

export interface RedisServer {
  url: string;
  /** Kills the server (SIGKILL); `start()` brings it back on the same port, empty. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

/** `args`: more `redis-server` options, e.g. `['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']`. */
export async function startRedisServer(args: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
      {
        stdio: 'ignore',
      },
    );
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await waitFor(`redis-server on ${port}`, async () => {
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
        return (await probe.ping()) === 'PONG';
      });
    } finally {
      probe.disconnect();
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      const c = child;
      if (c === undefined || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
    },
    start,
  };
}
