/**
 * A heartbeat's interval counts from its call's start (src/pipeline/deliver.ts with the store's
 * restartHeartbeat): a wait in the heartbeat limiter cannot put two calls of one token in one interval.
 */
import { describe, expect, it } from 'vitest';
import type { CallbackEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { decide } from '../../src/core/outcome.js';
import { tokenHash } from '../../src/core/secret.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Deliverer, type Fate } from '../../src/pipeline/deliver.js';
import { SendBreaker } from '../../src/state/breaker.js';
import { MemoryDedupStore } from '../../src/state/dedup/memory.js';
import type { Limiter } from '../../src/state/rateLimit.js';
import { FATE } from '../support/fate.js';

const heartbeat: CallbackEvent = { kind: 'heartbeat', taskToken: 'tok-hb' };

/** A relay's delivery on a clock of the test's, a 10 s interval and the given heartbeat limiter. */
function setup(heartbeatWait: (clock: { now: number }) => Promise<number>) {
  const clock = { now: 0 };
  const sent: number[] = [];
  const deliverer = new Deliverer(
    {
      visibilityTimeoutSeconds: 30,
      failureTtlSeconds: 3600,
      dedupTtlSeconds: 3600,
      taskHeartbeatMinIntervalSeconds: 10,
    },
    {
      dedup: new MemoryDedupStore({ now: () => clock.now }),
      limiter: { mode: 'off', acquire: async () => 0 },
      heartbeatLimiter: { mode: 'local', acquire: () => heartbeatWait(clock) } satisfies Limiter,
      breaker: new SendBreaker({ threshold: 100, halfOpenAfterMs: 1000 }),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
      send: async () => {
        sent.push(clock.now);
        return { ok: true, attempts: 1 };
      },
    },
  );
  const fate: Fate = (evidence, ownFailures) => decide(evidence, { ...FATE, ownFailures });
  const hooks = { claimed: () => undefined, settled: () => undefined };
  const beat = () =>
    deliverer.deliver(heartbeat, tokenHash(heartbeat.taskToken), new AbortController().signal, fate, hooks);
  return { clock, sent, beat };
}

describe('heartbeat interval from the call start', () => {
  it('counts the interval from the call’s start: a wait in the limiter cannot put two calls in one interval', async () => {
    // The heartbeat limiter's queue: 9 s of a 10 s interval.
    const s = setup(async (clock) => {
      clock.now += 9_000;
      return 9_000;
    });
    expect(await s.beat()).toEqual({ kind: 'heartbeatSent' }); // passed the gate at 0 s, called at 9 s
    s.clock.now = 12_000;
    expect(await s.beat()).toEqual({ kind: 'heartbeatCoalesced' });
    s.clock.now = 19_000;
    expect(await s.beat()).toEqual({ kind: 'heartbeatSent' });
    expect(s.sent).toEqual([9_000, 28_000]);
  });

  it('coalesces a copy whose gate expired in the limiter and was taken by a later copy that called', async () => {
    let release: () => void = () => undefined;
    const firstWait = new Promise<void>((resolve) => (release = resolve));
    let waits = 0;
    const s = setup(async () => {
      waits += 1;
      if (waits === 1) await firstWait;
      return 0;
    });
    const first = s.beat(); // passes the gate at 0 s, then waits in the limiter
    s.clock.now = 10_500; // its gate has expired: a later copy passes and calls
    expect(await s.beat()).toEqual({ kind: 'heartbeatSent' });
    s.clock.now = 11_000;
    release();
    expect(await first).toEqual({ kind: 'heartbeatCoalesced' });
    expect(s.sent).toEqual([10_500]);
  });
});
