import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhenResult } from 'cockatiel';
import type { SendResult } from '../aws/stepFunctions.js';
import { isWholesaleFailure } from '../core/outcome.js';

export type { BreakerState } from '../core/modes.js';

import type { BreakerState } from '../core/modes.js';

export interface BreakerOptions {
  /** Consecutive wholesale failures that open the circuit. */
  threshold: number;
  halfOpenAfterMs: number;
  onStateChange?: (state: BreakerState) => void;
}

/**
 * cockatiel's circuit breaker around `SendTaskFailure`. It counts only wholesale failures
 * (throttling, 5xx, network, credentials: see `isWholesaleFailure`), never a message's own error
 * such as `InvalidToken`. While it is open no call is made; the consumer pauses intake.
 */
export class SendBreaker {
  readonly #policy;
  #state: BreakerState = 'closed';

  constructor(o: BreakerOptions) {
    this.#policy = circuitBreaker(
      handleWhenResult((r) => isWholesaleFailure(r as SendResult)),
      { halfOpenAfter: o.halfOpenAfterMs, breaker: new ConsecutiveBreaker(o.threshold) },
    );
    this.#policy.onStateChange((s) => {
      this.#state = s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'halfOpen' : 'open';
      o.onStateChange?.(this.#state);
    });
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Runs the call, or answers `'open'` without calling when the circuit is open. */
  async run(call: () => Promise<SendResult>): Promise<SendResult | 'open'> {
    try {
      return await this.#policy.execute(call);
    } catch (err) {
      if (err instanceof BrokenCircuitError) return 'open';
      throw err;
    }
  }
}
