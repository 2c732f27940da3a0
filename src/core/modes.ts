/**
 * Names of the modes the shared state can be in, which the metrics and /readyz report. They live in
 * the vocabulary layer so that observability need not import the state it observes.
 */

/** The circuit breaker around Step Functions calls. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** The dedup store answering now. */
export type StoreKind = 'memory' | 'redis';
