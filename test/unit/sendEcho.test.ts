/**
 * Step Functions' error messages may quote the request: a success's output, a failure's cause or
 * error must not reach the DLQ detail or the logs through them (src/core/sendResult.ts withoutEcho).
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
import { FATE } from '../support/fate.js';

function deliverAnswered(event: CallbackEvent, message: string) {
  const answer: SendResult = { ok: false, errorName: 'ValidationException', httpStatus: 400, attempts: 1, message };
  const deliverer = new Deliverer(
    { visibilityTimeoutSeconds: 30, failureTtlSeconds: 3600, dedupTtlSeconds: 3600 },
    {
      dedup: new MemoryDedupStore(),
      limiter: { mode: 'off', acquire: async () => 0 },
      breaker: new SendBreaker({ threshold: 100, halfOpenAfterMs: 1000 }),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
      send: async () => answer,
    },
  );
  const fate: Fate = (evidence, ownFailures) => decide(evidence, { ...FATE, ownFailures });
  const hooks = { claimed: () => undefined, settled: () => undefined };
  return deliverer.deliver(event, tokenHash(event.taskToken), new AbortController().signal, fate, hooks);
}

describe('error messages that quote the request', () => {
  it('never carries a success call’s message text: name and HTTP status only', async () => {
    const output = '{"password":"hunter2-secret"}';
    const outcome = await deliverAnswered(
      { kind: 'success', taskToken: 'tok-s', output },
      `Invalid output: '${output}'`,
    );
    expect(outcome).toEqual({
      kind: 'deadLetter',
      reason: 'sfn_invalid_request',
      detail: 'ValidationException (HTTP 400)',
    });
  });

  it('drops a failure call’s message when it quotes the cause or the error; keeps it otherwise', async () => {
    const cause = 'db password=hunter2 at host 10.0.0.1, and more text beyond the first 32 characters';
    const quoted = await deliverAnswered(
      { kind: 'failure', taskToken: 'tok-f', error: 'E', cause },
      `1 validation error: cause '${cause.slice(0, 60)}' failed to satisfy constraint`,
    );
    expect(quoted).toMatchObject({ detail: 'ValidationException (HTTP 400)' });
    const errorQuoted = await deliverAnswered(
      { kind: 'failure', taskToken: 'tok-g', error: 'Secret.Error.Name' },
      `error 'Secret.Error.Name' too long`,
    );
    expect(errorQuoted).toMatchObject({ detail: 'ValidationException (HTTP 400)' });
    const plain = await deliverAnswered({ kind: 'failure', taskToken: 'tok-h', error: 'E', cause: 'c' }, 'Invalid Arn');
    expect(plain).toMatchObject({ detail: 'ValidationException: Invalid Arn' });
  });
});
