/**
 * The delivery step per kind (src/pipeline/deliver.ts): which limiter a kind takes, what a
 * heartbeat's answer does to its gate and to the token's done record.
 */
import { describe, expect, it } from 'vitest';
import type { CallbackEvent } from '../../src/core/event.js';
import { createLogger } from '../../src/core/log.js';
import { decide } from '../../src/core/outcome.js';
import { tokenHash } from '../../src/core/secret.js';
import type { SendResult } from '../../src/core/sendResult.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Deliverer, type Fate } from '../../src/pipeline/deliver.js';
import { SendBreaker } from '../../src/state/breaker.js';
import { MemoryDedupStore } from '../../src/state/dedup/memory.js';
import { createLimiter, type Limiter } from '../../src/state/rateLimit.js';
import { FATE, sendError } from '../support/fate.js';

function counting(): Limiter & { taken: number } {
  const l = {
    taken: 0,
    mode: 'local' as const,
    acquire: async () => {
      l.taken += 1;
      return 0;
    },
  };
  return l;
}

function setup(
  answers: SendResult[],
  limiters: { limiter: Limiter; heartbeatLimiter: Limiter } = { limiter: counting(), heartbeatLimiter: counting() },
  breakers: { breaker: SendBreaker; heartbeatBreaker?: SendBreaker } = {
    breaker: new SendBreaker({ threshold: 100, halfOpenAfterMs: 1000 }),
  },
) {
  const dedup = new MemoryDedupStore();
  const { limiter, heartbeatLimiter } = limiters;
  const sent: CallbackEvent[] = [];
  const deliverer = new Deliverer(
    {
      visibilityTimeoutSeconds: 30,
      failureTtlSeconds: 3600,
      dedupTtlSeconds: 3600,
      taskHeartbeatMinIntervalSeconds: 60,
    },
    {
      dedup,
      limiter,
      heartbeatLimiter,
      ...breakers,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
      send: async (e) => {
        sent.push(e);
        return answers.shift() ?? { ok: true, attempts: 1 };
      },
    },
  );
  const fate: Fate = (evidence, ownFailures) => decide(evidence, { ...FATE, ownFailures });
  const hooks = { claimed: () => undefined, settled: () => undefined };
  const deliver = (e: CallbackEvent) =>
    deliverer.deliver(e, tokenHash(e.taskToken), new AbortController().signal, fate, hooks);
  return { dedup, limiter, heartbeatLimiter, sent, deliver, deliverer };
}

const heartbeat: CallbackEvent = { kind: 'heartbeat', taskToken: 'tok-hb' };

describe('delivery per kind', () => {
  it('takes terminal callbacks from the shared limiter and heartbeats from their own', async () => {
    const [limiter, heartbeatLimiter] = [counting(), counting()];
    const s = setup([], { limiter, heartbeatLimiter });
    await s.deliver({ kind: 'failure', taskToken: 'a' });
    await s.deliver({ kind: 'success', taskToken: 'b', output: '{}' });
    await s.deliver(heartbeat);
    expect([limiter.taken, heartbeatLimiter.taken]).toEqual([2, 1]);
  });

  it('lets terminal callbacks through while a heartbeat storm waits on its own limiter', async () => {
    const logger = createLogger('silent');
    const s = setup([], {
      limiter: createLimiter({ perSecond: 10, redis: undefined, keyPrefix: 't:', logger }),
      heartbeatLimiter: createLimiter({ perSecond: 10, redis: undefined, keyPrefix: 't:', key: 'hb', logger }),
    });
    const order: string[] = [];
    const storm = Array.from({ length: 30 }, (_, i) =>
      s.deliver({ kind: 'heartbeat', taskToken: `hb-${i}` }).then(() => order.push('heartbeat')),
    );
    const terminal = Array.from({ length: 5 }, (_, i) =>
      s
        .deliver({ kind: i % 2 === 0 ? 'failure' : 'success', taskToken: `t-${i}`, output: '1' } as CallbackEvent)
        .then(() => order.push('terminal')),
    );
    await Promise.all([...storm, ...terminal]);
    // 30 heartbeats at 10/s take two more seconds, and were asked first; the terminal callbacks
    // waited for none of them: all five are among the first 15 to finish (10 heartbeats go at once).
    expect(order.slice(0, 15).filter((o) => o === 'terminal')).toHaveLength(5);
    expect(order.filter((o) => o === 'heartbeat')).toHaveLength(30);
  }, 10_000);

  it('records a success as done by success: a later failure or heartbeat is a duplicate that says so', async () => {
    const s = setup([]);
    expect(await s.deliver({ kind: 'success', taskToken: 't', output: '1' })).toEqual({ kind: 'succeeded' });
    expect(await s.deliver({ kind: 'failure', taskToken: 't' })).toEqual({ kind: 'duplicate', first: 'success' });
    expect(await s.deliver({ kind: 'heartbeat', taskToken: 't' })).toEqual({ kind: 'duplicate', first: 'success' });
    expect(s.sent.map((e) => e.kind)).toEqual(['success']);
  });

  it('coalesces heartbeats within the interval and never claims the token', async () => {
    const s = setup([]);
    expect(await s.deliver(heartbeat)).toEqual({ kind: 'heartbeatSent' });
    expect(await s.deliver(heartbeat)).toEqual({ kind: 'heartbeatCoalesced' });
    expect(await s.deliver({ kind: 'failure', taskToken: heartbeat.taskToken })).toEqual({ kind: 'failed' });
    expect(s.sent.map((e) => e.kind)).toEqual(['heartbeat', 'failure']);
  });

  it('keeps the gate for its interval after a call answered with an error: a throttled storm costs one call', async () => {
    const s = setup(Array.from({ length: 200 }, () => sendError('ThrottlingException', 400)));
    const kinds = new Set<string>();
    for (let i = 0; i < 200; i += 1) kinds.add((await s.deliver(heartbeat)).kind);
    expect(s.sent).toHaveLength(1);
    expect([...kinds].sort()).toEqual(['heartbeatCoalesced', 'retryLater']);
  });

  it('reopens the gate when the heartbeat was never sent (interrupted before the call), so its copy goes at once', async () => {
    const s = setup([]);
    const aborted = new AbortController();
    aborted.abort();
    const fate: Fate = (evidence, ownFailures) => decide(evidence, { ...FATE, ownFailures });
    const hooks = { claimed: () => undefined, settled: () => undefined };
    const hash = tokenHash(heartbeat.taskToken);
    expect(await s.deliverer.deliver(heartbeat, hash, aborted.signal, fate, hooks)).toMatchObject({
      kind: 'retryLater',
    });
    expect(await s.deliver(heartbeat)).toEqual({ kind: 'heartbeatSent' });
    expect(s.sent).toHaveLength(1);
  });

  it('marks the token done (by an unknown kind) when a heartbeat is answered TaskTimedOut', async () => {
    const s = setup([sendError('TaskTimedOut', 400)]);
    expect(await s.deliver(heartbeat)).toEqual({ kind: 'alreadyClosed' });
    expect(await s.dedup.claim(tokenHash(heartbeat.taskToken), 'o', 1000)).toEqual({ done: 'unknown' });
    expect(await s.deliver({ kind: 'success', taskToken: heartbeat.taskToken, output: '1' })).toEqual({
      kind: 'duplicate',
      first: 'unknown',
    });
    expect(s.sent).toHaveLength(1);
  });

  it('keeps heartbeats’ wholesale failures in their own breaker: failures and successes still go', async () => {
    for (const name of ['AccessDeniedException', 'ThrottlingException']) {
      const breakers = {
        breaker: new SendBreaker({ threshold: 10, halfOpenAfterMs: 60_000 }),
        heartbeatBreaker: new SendBreaker({ threshold: 10, halfOpenAfterMs: 60_000 }),
      };
      const s = setup(
        Array.from({ length: 10 }, () => sendError(name, 400)),
        { limiter: counting(), heartbeatLimiter: counting() },
        breakers,
      );
      for (let i = 0; i < 10; i += 1) await s.deliver({ kind: 'heartbeat', taskToken: `hb-${i}` });
      expect(breakers.heartbeatBreaker.state, name).toBe('open');
      expect(breakers.breaker.state, name).toBe('closed');
      expect(await s.deliver({ kind: 'failure', taskToken: 'f' }), name).toEqual({ kind: 'failed' });
      expect(await s.deliver({ kind: 'success', taskToken: 's', output: '{}' }), name).toEqual({ kind: 'succeeded' });
      // While its breaker is open a heartbeat is handed back without a call, and its gate reopened.
      const before = s.sent.length;
      expect(await s.deliver({ kind: 'heartbeat', taskToken: 'hb-new' })).toMatchObject({
        kind: 'retryLater',
        cause: 'breaker_open',
      });
      expect(s.sent).toHaveLength(before);
      expect(await s.dedup.heartbeat(tokenHash('hb-new'), 'o', 1000)).toBe('send');
    }
  });

  it('records unknown, not its own kind, when a terminal callback is answered TaskTimedOut', async () => {
    const s = setup([sendError('TaskTimedOut', 400)]);
    expect(await s.deliver({ kind: 'success', taskToken: 't', output: '1' })).toEqual({ kind: 'alreadyClosed' });
    expect(await s.deliver({ kind: 'failure', taskToken: 't' })).toEqual({ kind: 'duplicate', first: 'unknown' });
  });

  it('corrects unknown when a success in flight completes after a heartbeat answered TaskTimedOut', async () => {
    let answer: (r: SendResult) => void = () => undefined;
    let calling: () => void = () => undefined;
    const called = new Promise<void>((resolve) => (calling = resolve));
    const s = setup([sendError('TaskTimedOut', 400)]);
    const slow = new Deliverer(
      { visibilityTimeoutSeconds: 30, failureTtlSeconds: 3600, dedupTtlSeconds: 3600 },
      {
        dedup: s.dedup,
        limiter: counting(),
        breaker: new SendBreaker({ threshold: 100, halfOpenAfterMs: 1000 }),
        metrics: createMetrics({ defaultMetrics: false }),
        logger: createLogger('silent'),
        send: () =>
          new Promise<SendResult>((resolve) => {
            answer = resolve;
            calling();
          }),
      },
    );
    const fate: Fate = (evidence, ownFailures) => decide(evidence, { ...FATE, ownFailures });
    const hooks = { claimed: () => undefined, settled: () => undefined };
    const success = slow.deliver(
      { kind: 'success', taskToken: 't', output: '1' },
      tokenHash('t'),
      new AbortController().signal,
      fate,
      hooks,
    );
    expect(await s.deliver({ kind: 'heartbeat', taskToken: 't' })).toEqual({ kind: 'alreadyClosed' });
    await called;
    answer({ ok: true, attempts: 1 });
    expect(await success).toEqual({ kind: 'succeeded' });
    expect(await s.deliver({ kind: 'failure', taskToken: 't' })).toEqual({ kind: 'duplicate', first: 'success' });
  });

  it('counts a heartbeat’s own failures apart from its token’s terminal callbacks', async () => {
    const s = setup([sendError('ServiceUnavailable', 503), sendError('ServiceUnavailable', 503)]);
    await s.deliver(heartbeat);
    await s.deliver(heartbeat);
    // The token's terminal callbacks start with a clean count.
    expect(await s.dedup.recordFailure(tokenHash(heartbeat.taskToken), 60_000)).toBe(1);
  });
});
