/**
 * The key layout before the hashed one (`<prefix>tok:{<sha256 hex>}` = `done` | `c:<owner>`): how
 * long the store still reads it. The first relay of the new layout looks for old keys (SCAN, at
 * most SCAN_ROUNDS × 1,000 keys per primary: a deployment of the old layout holds little else under
 * its prefix, so a sample finds them) and writes its finding once, with the time, to
 * `<prefix>layout2-since` = `<ms>:<1|0>`; every later relay reads that. Old keys found: read them for
 * one TTL from then. None: never (a fresh deployment pays nothing for the upgrade path).
 */
import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '../redis.js';

const SCAN_ROUNDS = 20;

async function anyKey(node: Redis, pattern: string): Promise<boolean> {
  let cursor = '0';
  for (let round = 0; round < SCAN_ROUNDS; round += 1) {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) return true;
    if (next === '0') return false;
    cursor = next;
  }
  return false;
}

/** Until when (ms since the epoch) to read the old layout: 0 when there was none. */
export async function legacyReadUntil(
  client: RedisClient,
  o: { marker: string; legacyPattern: string; ttlMs: number; nowMs: number },
): Promise<number> {
  let value = await client.get(o.marker);
  if (value === null) {
    const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    const found = (await Promise.all(nodes.map((n) => anyKey(n, o.legacyPattern)))).some(Boolean);
    await client.set(o.marker, `${o.nowMs}:${found ? 1 : 0}`, 'NX');
    value = (await client.get(o.marker)) ?? `${o.nowMs}:1`;
  }
  const [since, found] = value.split(':');
  if (found === '0') return 0;
  const start = Number(since);
  return (Number.isFinite(start) ? start : o.nowMs) + o.ttlMs;
}
