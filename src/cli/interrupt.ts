/**
 * Ctrl-C. A command that can stop cleanly asks for `interruptSignal()`: the first SIGINT then
 * aborts it, and it finishes the batch in hand (deletes what it sent, hands back the rest) and
 * prints what it did; a second SIGINT exits at once. Any other command exits at the first.
 */
import { EXIT } from './common.js';

let controller: AbortController | undefined;

/** The signal a command watches; from now on the first Ctrl-C aborts it instead of exiting. */
export function interruptSignal(): AbortSignal {
  controller ??= new AbortController();
  return controller.signal;
}

/** The SIGINT handler (`exit` swapped in tests). */
export function onSigint(exit: (code: number) => void = (code) => process.exit(code)): void {
  if (controller === undefined || controller.signal.aborted) {
    exit(EXIT.interrupted);
    return;
  }
  process.stderr.write('sfn-relay: interrupted: finishing the batch in hand (Ctrl-C again to exit at once)\n');
  controller.abort();
}
