/** Fate settings for classifier tests: the defaults, a first receive, no own failures, fixed jitter. */
import type { FateSettings } from '../../src/core/outcome.js';
import type { SendResult } from '../../src/core/sendResult.js';

export const FATE: FateSettings = {
  receiveCount: 1,
  ownFailures: 0,
  maxReceives: 5,
  retryBaseDelaySeconds: 2,
  retryMaxDelaySeconds: 300,
  visibilityTimeoutSeconds: 30,
  random: () => 0.5,
};

/** A failed call's result as the clients report it (after three attempts, message scrubbed). */
export const sendError = (errorName: string, httpStatus?: number): SendResult => ({
  ok: false,
  errorName,
  httpStatus,
  attempts: 3,
  message: 'scrubbed',
});
