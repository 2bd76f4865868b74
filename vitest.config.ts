import { defineConfig } from 'vitest/config';

// Tests import workspace packages through their built dist/ (the same files npm users get);
// `pnpm test` builds first. Under CI a JSON report is written too: .ci/run reads it to print
// its own closing line.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: process.env.KINDLING_TEST_REPORT ? ['default', ['json', { outputFile: process.env.KINDLING_TEST_REPORT }]] : ['default'],
  },
});
