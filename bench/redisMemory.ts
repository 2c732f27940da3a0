/**
 * What a done token costs: in the in-process store (its typed arrays) and in Redis, standalone and
 * cluster, through the store's own claim → complete path, as used_memory growth per token (summed
 * over a cluster's primaries); the key layout before, on the standalone server, for comparison.
 */
import { Redis } from 'ioredis';
import { createLogger } from '../src/core/log.js';
import { bytesPerEntry } from '../src/state/dedup/doneTable.js';
import { RedisDedupStore } from '../src/state/dedup/redis.js';
import { createRedis } from '../src/state/redis.js';
import { bytesPerDoneToken, legacyBytesPerDoneToken } from '../test/support/redisBytes.js';

export interface BytesRow {
  tokens: number;
  memory: number;
  standalone: number;
  cluster: number;
  standaloneLayoutBefore: number;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** `memoryMeasured`: the in-process table's bytes per record from the lean run, when it ran. */
export async function bytesRow(
  urls: { standalone: string; cluster: string },
  tokens: number,
  memoryMeasured: number | undefined,
): Promise<BytesRow> {
  const standalone = new Redis(urls.standalone, { enableAutoPipelining: true });
  const cluster = createRedis(
    { url: urls.cluster, cluster: true, caFile: undefined, username: undefined, password: undefined },
    createLogger('silent'),
  );
  const legacy = new Redis(urls.standalone, { enableAutoPipelining: true });
  try {
    await new Promise<void>((resolve) => (cluster.status === 'ready' ? resolve() : cluster.once('ready', resolve)));
    const prefix = `bench-bytes-${Date.now()}:`;
    return {
      tokens,
      memory: round(memoryMeasured ?? bytesPerEntry()),
      standalone: round(await bytesPerDoneToken(standalone, new RedisDedupStore(standalone, prefix), tokens)),
      cluster: round(await bytesPerDoneToken(cluster, new RedisDedupStore(cluster, prefix), tokens)),
      standaloneLayoutBefore: round(await legacyBytesPerDoneToken(legacy, `${prefix}old:`, tokens)),
    };
  } finally {
    standalone.disconnect();
    cluster.disconnect();
    legacy.disconnect();
  }
}
