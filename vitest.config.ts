import { defineConfig } from 'vitest/config';

// Tests import workspace packages through their built dist/ (the same files npm users get);
// `pnpm test` builds first.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
