import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests build network namespaces and run real processes (three coordinators,
    // agents, tcpreplay, Chromium) whose timers and elections need the CPU they were designed
    // for: one test file at a time. Two at once on these two-core machines made a different
    // timing-sensitive test fail in each full run (an election under a starved event loop).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
    pool: 'forks',
  },
});
