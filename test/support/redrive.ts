import type { RedriveOptions } from '../../src/cli/redrive.js';

/** `dlq redrive` with no filters, no limit, and no waiting between delete attempts. */
export const REDRIVE_OPTIONS: RedriveOptions = {
  max: Number.POSITIVE_INFINITY,
  filter: { reason: undefined, olderThanMs: undefined, newerThanMs: undefined },
  dryRun: false,
  force: false,
  sleep: async () => undefined,
};
