/** Fate settings for classifier tests: the defaults, a first receive, no own failures, fixed jitter. */
import type { FateSettings } from '../../src/core/outcome.js';

export const FATE: FateSettings = {
  receiveCount: 1,
  ownFailures: 0,
  maxReceives: 5,
  retryBaseDelaySeconds: 2,
  retryMaxDelaySeconds: 300,
  visibilityTimeoutSeconds: 30,
  random: () => 0.5,
};
