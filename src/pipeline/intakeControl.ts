/**
 * The one owner of what the circuit breaker's state means for intake: at `open` the pollers pause
 * (no receive counts burnt while Step Functions fails for everyone) and a probe is scheduled after
 * the half-open delay; at `closed` intake resumes. It owns the probe timer, so no other module
 * keeps breaker-to-poller state. The pollers themselves (consumer.ts) own the gate (intake.ts).
 */
import type { Logger } from 'pino';
import type { BreakerState } from '../core/modes.js';
import type { Metrics } from '../observability/metrics.js';

/** What intake control drives: the pollers' pause, probe and resume (consumer.ts `Pollers`). */
export interface IntakeTarget {
  pause(): void;
  probe(): void;
  resume(): void;
}

export class IntakeControl {
  readonly #halfOpenAfterMs: number;
  readonly #d: { metrics: Metrics; logger: Logger };
  #target: IntakeTarget | undefined;
  #probeTimer: NodeJS.Timeout | undefined;

  constructor(halfOpenAfterMs: number, deps: { metrics: Metrics; logger: Logger }) {
    this.#halfOpenAfterMs = halfOpenAfterMs;
    this.#d = deps;
  }

  /** The pollers, once they exist (the breaker is built before them). */
  attach(target: IntakeTarget): void {
    this.#target = target;
  }

  /** The breaker's `onStateChange`. */
  breakerChanged(state: BreakerState): void {
    this.#d.metrics.setBreaker(state);
    this.#d.logger.warn({ breaker: state }, 'circuit breaker state changed');
    clearTimeout(this.#probeTimer);
    if (state === 'open') {
      this.#target?.pause();
      this.#probeTimer = setTimeout(() => this.#target?.probe(), this.#halfOpenAfterMs);
    } else if (state === 'closed') {
      this.#target?.resume();
    }
  }

  /** No more probes (shutdown). */
  stop(): void {
    clearTimeout(this.#probeTimer);
  }
}
