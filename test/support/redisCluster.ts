/**
 * A real Redis Cluster of the test's own: 3 primaries and 3 replicas (`redis-server
 * --cluster-enabled yes` on free loopback ports), joined with `redis-cli --cluster create`. A short
 * node timeout, so a killed primary's replica takes over within seconds.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort, waitFor } from './wait.js';

export interface RedisClusterHandle {
  ports: number[];
  /** A startup node, as a configuration endpoint would be given. */
  url: string;
  stop(): Promise<void>;
}

function nodeDir(dir: string, port: number): string {
  const d = join(dir, String(port));
  mkdirSync(d, { recursive: true });
  return d;
}

function cli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout;
}

export async function startRedisCluster(nodeTimeoutMs = 2000): Promise<RedisClusterHandle> {
  requireBinary('redis-server');
  requireBinary('redis-cli');
  const dir = mkdtempSync(join(tmpdir(), 'relay-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 6; i += 1) ports.push(await freePort());
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        // Replicas sync at once (the default waits 5 s), so a failover can happen right away.
        '--repl-diskless-sync-delay',
        '0',
        // A folder per node: replicas write the primary's snapshot there during the first sync.
        '--dir',
        nodeDir(dir, port),
        '--logfile',
        join(nodeDir(dir, port), 'redis.log'),
      ],
      { stdio: 'ignore' },
    ),
  );
  await waitFor('cluster nodes to answer', () => ports.every((p) => cli(p, 'ping').trim() === 'PONG'));
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await waitFor(
    'the cluster to be ok',
    () => ports.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok')),
    {
      timeoutMs: 30_000,
    },
  );
  return {
    ports,
    url: `redis://127.0.0.1:${ports[0]}`,
    async stop() {
      const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
      const exited = running.map((c) => new Promise((r) => c.once('exit', r)));
      for (const c of running) c.kill('SIGKILL');
      await Promise.all(exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The port of a primary that has a replica, and kills it (SIGKILL); its replica takes over. */
export function killPrimary(ports: number[]): number {
  for (const port of ports) {
    if (!cli(port, 'info', 'replication').includes('role:master')) continue;
    const pid = Number(/process_id:(\d+)/.exec(cli(port, 'info', 'server'))?.[1]);
    process.kill(pid, 'SIGKILL');
    return port;
  }
  throw new Error('no primary found');
}

/** Whether the cluster has seen the node on `killed` fail and serves every slot again without it. */
export function failedOver(ports: number[], killed: number): boolean {
  const survivors = ports.filter((p) => p !== killed);
  const nodes = cli(survivors[0] ?? 0, 'cluster', 'nodes');
  const dead = nodes.split('\n').find((l) => l.includes(`:${killed}@`));
  return (
    dead !== undefined &&
    /\bfail\b/.test(dead) &&
    survivors.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok'))
  );
}
