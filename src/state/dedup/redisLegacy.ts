/**
 * The key layout before the hashed one (`<prefix>tok:{<sha256 hex>}` = `done` | `c:<owner>`): how
 * long the store still reads it. The first relay of the new layout looks for old keys (SCAN MATCH,
 * at most `scanRounds` × 1,000 keys per primary: MATCH filters after the walk, so on a shared Redis
 * the walk covers every key) and writes its finding once, with the time, to
 * `<prefix>layout2-since` = `<ms>:<1|0>`; every later relay reads that. Old keys found, or a walk
 * the cap stopped on any primary: read them for one TTL from then. None, with every primary's walk
 * complete (cursor back to 0): never (a fresh deployment pays nothing for the upgrade path).
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../redis.js';

/** The default cap on SCAN calls per primary (COUNT 1000 each): bounds the start-up walk. */
const SCAN_ROUNDS = 20;

/** Whether a primary holds a key of the pattern; a walk the cap stopped counts as yes (unsure). */
async function anyKey(node: Redis, pattern: string, rounds: number): Promise<boolean> {
  let cursor = '0';
  for (let round = 0; round < rounds; round += 1) {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) return true;
    if (next === '0') return false;
    cursor = next;
  }
  return true;
}

/** Until when (ms since the epoch) to read the old layout: 0 when there was none. */
export async function legacyReadUntil(
  client: RedisClient,
  o: { marker: string; legacyPattern: string; ttlMs: number; nowMs: number; scanRounds?: number },
): Promise<number> {
  const rounds = o.scanRounds ?? SCAN_ROUNDS;
  let value = await client.get(o.marker);
  if (value === null) {
    const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    const found = (await Promise.all(nodes.map((n) => anyKey(n, o.legacyPattern, rounds)))).some(Boolean);
    await client.set(o.marker, `${o.nowMs}:${found ? 1 : 0}`, 'NX');
    value = (await client.get(o.marker)) ?? `${o.nowMs}:1`;
  }
  const [since, found] = value.split(':');
  if (found === '0') return 0;
  const start = Number(since);
  return (Number.isFinite(start) ? start : o.nowMs) + o.ttlMs;
}
