import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // leftovers.ts first: its teardown runs last and checks that nothing the tests started remains.
    globalSetup: ['test/support/leftovers.ts', 'test/support/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores, and the e2e files start emulators and relay processes of their own: one file at a
    // time, so that no test's timing depends on what another file is doing to the CPU.
    fileParallelism: false,
  },
});
