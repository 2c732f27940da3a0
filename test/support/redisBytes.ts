/**
 * What a done token costs in Redis, measured the way an operator would: `used_memory` (summed
 * over a cluster's primaries, replication buffers left out) before and after, divided by the tokens. Shared by the memory test
 * and the bench.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { DedupStore } from '../../src/state/dedup/store.js';

/**
 * used_memory, less the replication buffers: a primary with replicas fills a fixed backlog (1 MiB
 * by default) once, whatever it stores, which would otherwise land on the first tokens measured.
 */
export async function usedMemory(client: Redis | Cluster): Promise<number> {
  const nodes = client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  const sizes = await Promise.all(
    nodes.map(async (n) => {
      const info = await n.info('memory');
      const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
      return field('used_memory') - field('mem_total_replication_buffers');
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** The hex SHA-256 the relay keys a token by, for a token made up from `seed` and `i`. */
export function fakeTokenHash(seed: string, i: number): string {
  return createHash('sha256').update(`${seed} token ${i}`).digest('hex');
}

/**
 * Claims and completes `tokens` tokens through `store` (the relay's own path: the claim key is
 * gone once done), `chunk` at a time, and answers used_memory's growth per token.
 */
export async function bytesPerDoneToken(
  client: Redis | Cluster,
  store: DedupStore,
  tokens: number,
  seed = String(Math.random()),
  chunk = 2000,
): Promise<number> {
  const before = await usedMemory(client);
  for (let i = 0; i < tokens; i += chunk) {
    const hashes = Array.from({ length: Math.min(chunk, tokens - i) }, (_, j) => fakeTokenHash(seed, i + j));
    await Promise.all(hashes.map((h) => store.claim(h, 'bench-owner', 60_000)));
    await Promise.all(hashes.map((h) => store.complete(h, 86_400_000, 'failure')));
  }
  return ((await usedMemory(client)) - before) / tokens;
}

/** A done record as versions before the hashed layout wrote it (`<prefix>tok:{<sha256>}` = `done`). */
export async function writeLegacyDone(client: Redis | Cluster, prefix: string, hash: string, ttlMs: number) {
  await client.set(`${prefix}tok:{${hash}}`, 'done', 'PX', ttlMs);
}

/** `tokens` done records in the layout before, for the same comparison. */
export async function legacyBytesPerDoneToken(
  client: Redis | Cluster,
  prefix: string,
  tokens: number,
): Promise<number> {
  const before = await usedMemory(client);
  const seed = String(Math.random());
  for (let i = 0; i < tokens; i += 2000) {
    const n = Math.min(2000, tokens - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) => writeLegacyDone(client, prefix, fakeTokenHash(seed, i + j), 86_400_000)),
    );
  }
  return ((await usedMemory(client)) - before) / tokens;
}
