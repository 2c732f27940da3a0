/** The visibility heartbeat of one batch: one extension on the wire at a time, all of them landed before settling. */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import { VisibilityKeeper } from '../../src/pipeline/visibility.js';
import { MemoryDedupStore } from '../../src/state/dedup/memory.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('visibility keeper', () => {
  it('never has two visibility extensions in flight, and stop() waits for the slow one before the hand-back', async () => {
    vi.useFakeTimers();
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    let releaseFirst: () => void = () => undefined;
    const sqs = {
      send: () => {
        calls += 1;
        inFlight += 1;
        most = Math.max(most, inFlight);
        const done = () => {
          inFlight -= 1;
          return {};
        };
        // The first extension is slow (SQS's retries); the later ones would land at once.
        if (calls === 1) return new Promise<void>((resolve) => (releaseFirst = resolve)).then(done);
        return Promise.resolve().then(done);
      },
    } as unknown as SQSClient;
    const messages: Message[] = [{ MessageId: 'm', ReceiptHandle: 'r' }];
    const hb = new VisibilityKeeper(
      messages,
      new AbortController(),
      {
        sourceQueueUrl: 'q',
        visibilityTimeoutSeconds: 30,
        heartbeatIntervalSeconds: 1,
        maxVisibilityExtensionSeconds: 3600,
      },
      { sqs, dedup: new MemoryDedupStore(), metrics: createMetrics({ defaultMetrics: false }), now: () => Date.now() },
    );
    await vi.advanceTimersByTimeAsync(4500);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(most).toBe(1);
    let stopped = false;
    const stopping = hb.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(2000);
    // The slow extension is still out: settling (a hand-back to visibility 0) must wait for it.
    expect(stopped).toBe(false);
    releaseFirst();
    await stopping;
    expect(inFlight).toBe(0);
    const after = calls;
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(after);
  });
});
