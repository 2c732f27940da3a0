/**
 * Redis as AWS runs it, against real servers: two relay processes through a Redis Cluster (cluster
 * mode, as ElastiCache cluster mode and Serverless), a primary killed mid-run, and TLS with AUTH
 * (as ElastiCache in-transit encryption), including the configurations that cannot work.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  createActivityMachine,
  queueCounts,
  startExecutionsWithTokens,
  waitForFailedOnce,
} from '../support/emulators.js';
import { publish } from '../support/queue.js';
import { failedOver, killPrimary, type RedisClusterHandle, startRedisCluster } from '../support/redisCluster.js';
import { killRelays, type RelayProcess, startRelayProcess, sumMetric } from '../support/relayProcess.js';
import { shuffle } from '../support/shuffle.js';
import { useEmulators } from '../support/useEmulators.js';
import { waitFor } from '../support/wait.js';

const emu = useEmulators();
const relays: RelayProcess[] = [];
let ownCluster: RedisClusterHandle | undefined;

afterAll(async () => {
  await killRelays(relays);
  await ownCluster?.stop();
});

async function queues(name: string): Promise<{ source: string; dlq: string }> {
  return { source: await emu.sqs.createQueue(name), dlq: await emu.sqs.createQueue(`${name}-dlq`) };
}

function env(q: { source: string; dlq: string }, extra: Record<string, string>): Record<string, string> {
  return {
    SOURCE_QUEUE_URL: q.source,
    DLQ_URL: q.dlq,
    AWS_ENDPOINT_URL_SQS: emu.sqs.endpoint,
    AWS_ENDPOINT_URL_SFN: emu.proxy.endpoint,
    DEDUP_KEY_PREFIX: `redis-e2e:${randomUUID()}:`,
    WAIT_TIME_SECONDS: '1',
    RETRY_BASE_DELAY_SECONDS: '1',
    SFN_REQUEST_TIMEOUT_MS: '30000',
    ...extra,
  };
}

/** Lines of a process's output that say the dedup store switched to memory. */
const fallbacks = (r: RelayProcess) =>
  r
    .output()
    .split('\n')
    .filter((l) => l.includes('dedup store unreachable')).length;

describe('Redis Cluster', () => {
  it('two relays share dedup and the rate limit through a cluster: one call per token, no fallback', async () => {
    const name = `cluster-${randomUUID().slice(0, 8)}`;
    const q = await queues(name);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 60);
    const e = env(q, {
      REDIS_URL: inject('redisCluster').url,
      REDIS_CLUSTER: 'true',
      SFN_RATE_LIMIT_PER_SECOND: '20',
      POLLERS: '3',
    });
    const [a, b] = await Promise.all([startRelayProcess(e), startRelayProcess(e)]);
    relays.push(a, b);
    const firstCall = emu.proxy.calls.length;
    await publish(
      emu.sqs.client,
      q.source,
      shuffle(
        tasks.flatMap((t, i) =>
          Array.from({ length: 3 }, () => JSON.stringify({ taskToken: t.token, error: `C${i}` })),
        ),
      ),
    );
    await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, name).total === 0, {
      timeoutMs: 60_000,
    });
    await waitForFailedOnce(emu.sfn.client, tasks);
    const forwarded = emu.proxy.forwardedByToken();
    for (const t of tasks) expect(forwarded.get(t.token), 'SendTaskFailure calls for a token').toBe(1);
    const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
    const total = (outcome: string) =>
      sumMetric(ma, 'sfn_relay_messages_finished_total', { outcome }) +
      sumMetric(mb, 'sfn_relay_messages_finished_total', { outcome });
    expect(total('failed')).toBe(60);
    expect(total('duplicate')).toBe(120);
    // Redis all along: never the in-process store, the limit shared.
    for (const [r, m] of [
      [a, ma],
      [b, mb],
    ] as const) {
      expect(sumMetric(m, 'sfn_relay_dedup_store', { store: 'redis' })).toBe(1);
      expect(sumMetric(m, 'sfn_relay_rate_limiter_mode', { mode: 'shared' })).toBe(1);
      expect(sumMetric(m, 'sfn_relay_redis_command_errors_total')).toBe(0);
      expect(fallbacks(r)).toBe(0);
    }
    // 60 calls at 20/s for both replicas together: at least ~2 s, no second above two windows' worth.
    const times = emu.proxy.calls
      .slice(firstCall)
      .filter((c) => c.target === 'SendTaskFailure')
      .map((c) => c.at)
      .sort((x, y) => x - y);
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i += 1) {
      while ((times[i] ?? 0) - (times[j] ?? 0) >= 1000) j += 1;
      busiest = Math.max(busiest, i - j + 1);
    }
    const span = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    process.stdout.write(
      `\ncluster: 60 tokens × 3 copies by 2 replicas: 60 calls in ${span.toFixed(1)} s at 20/s, busiest second ${busiest}\n`,
    );
    expect(span).toBeGreaterThanOrEqual(1.8);
    expect(busiest).toBeLessThanOrEqual(45);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect([await a.exited, await b.exited]).toEqual([0, 0]);
  });

  it('survives a primary killed mid-run: its replica takes over, nothing is lost, one switch at most', async () => {
    const t0 = Date.now();
    const phases: Record<string, number> = {};
    ownCluster = await startRedisCluster(1000);
    phases.cluster = Date.now() - t0;
    const name = `failover-${randomUUID().slice(0, 8)}`;
    const q = await queues(name);
    const machine = await createActivityMachine(emu.sfn.client, name);
    const tasks = await startExecutionsWithTokens(emu.sfn.client, machine, 150);
    phases.tasks = Date.now() - t0;
    // Calls take a while, so the kill lands mid-run with claims held.
    emu.proxy.setFault((call) => (call.target === 'SendTaskFailure' ? { kind: 'delay', ms: 30 } : undefined));
    const e = env(q, {
      REDIS_URL: ownCluster.url,
      REDIS_CLUSTER: 'true',
      SFN_RATE_LIMIT_PER_SECOND: '60',
      POLLERS: '2',
    });
    const [a, b] = await Promise.all([startRelayProcess(e), startRelayProcess(e)]);
    relays.push(a, b);
    await publish(
      emu.sqs.client,
      q.source,
      shuffle(
        tasks.flatMap((t, i) =>
          Array.from({ length: 2 }, () => JSON.stringify({ taskToken: t.token, error: `F${i}` })),
        ),
      ),
    );
    await waitFor('a third of the tasks done', () => emu.proxy.successesByToken().size >= 50, { timeoutMs: 30_000 });
    const killed = killPrimary(ownCluster.ports);
    const killedAt = Date.now();
    await waitFor('the replica to take over', () => failedOver(ownCluster?.ports ?? [], killed), { timeoutMs: 30_000 });
    const failoverMs = Date.now() - killedAt;
    phases.killed = killedAt - t0;
    await waitFor('the source queue to empty', () => queueCounts(emu.sqs.server, name).total === 0, {
      timeoutMs: 90_000,
    });
    phases.empty = Date.now() - t0;
    emu.proxy.setFault(undefined);
    await waitForFailedOnce(emu.sfn.client, tasks, 60_000);
    phases.failed = Date.now() - t0;
    const successes = emu.proxy.successesByToken();
    const forwarded = emu.proxy.forwardedByToken();
    let resent = 0;
    for (const t of tasks) {
      expect(successes.get(t.token), 'successful calls for a token').toBe(1);
      resent += (forwarded.get(t.token) ?? 0) - 1;
    }
    const switches = fallbacks(a) + fallbacks(b);
    process.stdout.write(
      `\nfailover: primary on ${killed} killed, cluster ok again after ${failoverMs} ms; 150 tasks failed once, ${resent} re-sent (answered TaskTimedOut), ${switches} switch(es) to memory; phases (ms) ${JSON.stringify(phases)}\n`,
    );
    // A failover shorter than the grace is waited out, not a switch to memory; never a storm.
    expect(fallbacks(a)).toBeLessThanOrEqual(1);
    expect(fallbacks(b)).toBeLessThanOrEqual(1);
    // Re-sends only from the crash window (claims and records on the killed primary not yet replicated).
    expect(resent).toBeLessThanOrEqual(5);
    for (const r of [a, b]) expect(r.output()).not.toMatch(/CROSSSLOT|MOVED|redis refused a command/);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect([await a.exited, await b.exited]).toEqual([0, 0]);
  });
});

describe('Redis with TLS and AUTH', () => {
  it('connects with rediss:// and the CA file, and refuses at start-up, in one line, what cannot work', async () => {
    const tls = inject('redisTls');
    const cluster = inject('redisCluster');
    const q = await queues(`tls-${randomUUID().slice(0, 8)}`);
    const good = await startRelayProcess(env(q, { REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.caFile }));
    relays.push(good);
    await waitFor(
      'redis in use',
      async () => sumMetric(await good.metrics(), 'sfn_relay_dedup_store', { store: 'redis' }) === 1,
    );
    expect(good.output()).toContain('"msg":"redis connected"');
    expect(good.output()).not.toContain(tls.password);
    good.child.kill('SIGTERM');
    expect(await good.exited).toBe(0);

    const refused: [Record<string, string>, RegExp][] = [
      [
        { REDIS_URL: tls.url, REDIS_TLS_CA_FILE: tls.wrongCaFile },
        /REDIS_URL: the TLS handshake failed \(\w+\).*set REDIS_TLS_CA_FILE/,
      ],
      [{ REDIS_URL: tls.url }, /REDIS_URL: the TLS handshake failed/],
      [
        { REDIS_URL: `rediss://:wrong@127.0.0.1:${tls.port}`, REDIS_TLS_CA_FILE: tls.caFile },
        /REDIS_URL: Redis refused the credentials \(WRONGPASS\)/,
      ],
      [
        { REDIS_URL: tls.url, REDIS_TLS_CA_FILE: '/no/such/ca.pem' },
        /REDIS_TLS_CA_FILE="\/no\/such\/ca.pem" cannot be read \(ENOENT\)/,
      ],
      [{ REDIS_URL: cluster.url }, /REDIS_URL is a cluster-mode endpoint .* set REDIS_CLUSTER=true/],
    ];
    for (const [extra, message] of refused) {
      const r = await startRelayProcess(env(q, extra)).then(
        () => {
          throw new Error(`started with ${JSON.stringify(extra)}`);
        },
        (err: Error) => err.message,
      );
      expect(r, JSON.stringify(extra)).toMatch(/relay exited with 2/);
      expect(r).toMatch(message);
      expect(r).not.toContain(tls.password);
      expect(r.split('\n').filter((l) => l.startsWith('sfn-failure-relay:'))).toHaveLength(1);
    }
  });
});
