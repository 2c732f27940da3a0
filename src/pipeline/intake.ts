/**
 * The intake gate: whether the pollers may receive now, and how many messages. The circuit breaker
 * pauses intake by closing the gate rather than by stopping and restarting the `sqs-consumer`
 * instances (a restarted consumer starts a second poll chain while its first is still inside a
 * batch, and the chains multiply with every breaker cycle). Each consumer keeps its one chain for
 * its whole life; the gate only decides when its next receive may start.
 *
 * - `running`: every receive may take a full batch.
 * - `paused`: no receive starts; receives already waiting on SQS are cut off (`signal`).
 * - `probing`: one receive of one message at a time, and only once every batch received before
 *   the pause has settled, so the probe is the only message in flight.
 * - `stopped`: as paused, for good.
 */
export type IntakeMode = 'running' | 'paused' | 'probing' | 'stopped';

export interface Ticket {
  maxMessages: number;
  /** The receive is the breaker's probe. */
  probe: boolean;
  /** Aborted when intake pauses or stops while the receive waits on SQS. */
  signal: AbortSignal;
}

export class IntakeGate {
  readonly #batchSize: number;
  #mode: IntakeMode = 'stopped';
  #cut = new AbortController();
  #probeTaken = false;
  #batchesInFlight = 0;
  #wake: (() => void)[] = [];

  constructor(batchSize: number) {
    this.#batchSize = batchSize;
  }

  get mode(): IntakeMode {
    return this.#mode;
  }

  get batchesInFlight(): number {
    return this.#batchesInFlight;
  }

  set(mode: IntakeMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    if (mode === 'paused' || mode === 'stopped') {
      this.#cut.abort(new Error(`intake ${mode}`));
      this.#cut = new AbortController();
    }
    if (mode !== 'probing') this.#probeTaken = false;
    this.#notify();
  }

  /** Waits until a receive may start; rejects when `signal` (the consumer's own) aborts. */
  async acquire(signal: AbortSignal): Promise<Ticket> {
    for (;;) {
      signal.throwIfAborted();
      if (this.#mode === 'running') {
        return { maxMessages: this.#batchSize, probe: false, signal: AbortSignal.any([signal, this.#cut.signal]) };
      }
      if (this.#mode === 'probing' && !this.#probeTaken && this.#batchesInFlight === 0) {
        this.#probeTaken = true;
        return { maxMessages: 1, probe: true, signal: AbortSignal.any([signal, this.#cut.signal]) };
      }
      await this.#changed(signal);
    }
  }

  /** The probe's receive came back empty or failed, or its message settled: another may go. */
  releaseProbe(): void {
    this.#probeTaken = false;
    this.#notify();
  }

  batchStarted(): void {
    this.#batchesInFlight += 1;
  }

  batchEnded(): void {
    this.#batchesInFlight -= 1;
    if (this.#batchesInFlight === 0) this.#notify();
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  #changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#wake.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
