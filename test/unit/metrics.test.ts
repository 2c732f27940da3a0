/** Every degraded mode has a metric: the heartbeats' own circuit breaker too. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';

describe('metrics', () => {
  it('exports the heartbeat breaker state apart from the terminal breaker, closed from the start', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(await metrics.registry.metrics()).toContain('sfn_relay_heartbeat_breaker_state{state="closed"} 1');
    metrics.setHeartbeatBreaker('open');
    const text = await metrics.registry.metrics();
    expect(text).toContain('sfn_relay_heartbeat_breaker_state{state="open"} 1');
    expect(text).toContain('sfn_relay_heartbeat_breaker_state{state="closed"} 0');
    expect(text).toContain('sfn_relay_circuit_breaker_state{state="closed"} 1');
  });
});
