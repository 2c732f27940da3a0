/** Intake control: what the breaker's state means for the pollers, and the one probe timer. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { IntakeControl } from '../../src/pipeline/intakeControl.js';

function setup() {
  const calls: string[] = [];
  const control = new IntakeControl(5000, {
    metrics: createMetrics({ defaultMetrics: false }),
    logger: createLogger('silent'),
  });
  control.attach({
    pause: () => calls.push('pause'),
    probe: () => calls.push('probe'),
    resume: () => calls.push('resume'),
  });
  return { control, calls };
}

describe('intake control', () => {
  afterEach(() => vi.useRealTimers());

  it('pauses at open, probes after the half-open delay, resumes at closed', () => {
    vi.useFakeTimers();
    const { control, calls } = setup();
    control.breakerChanged('open');
    expect(calls).toEqual(['pause']);
    vi.advanceTimersByTime(4999);
    expect(calls).toEqual(['pause']);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['pause', 'probe']);
    control.breakerChanged('halfOpen');
    control.breakerChanged('closed');
    expect(calls).toEqual(['pause', 'probe', 'resume']);
  });

  it('keeps one probe timer: a state change or stop cancels the pending probe', () => {
    vi.useFakeTimers();
    const { control, calls } = setup();
    control.breakerChanged('open');
    control.breakerChanged('closed');
    vi.advanceTimersByTime(10_000);
    expect(calls).toEqual(['pause', 'resume']);
    control.breakerChanged('open');
    control.stop();
    vi.advanceTimersByTime(10_000);
    expect(calls).toEqual(['pause', 'resume', 'pause']);
  });
});
