import { defineConfig } from 'vitest/config';

// Two projects: unit tests never boot a VM; vm tests share one booted VM per
// kernel (booted in globalSetup) and so run one file at a time.
export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: '.kmod-harness/vitest-report.json' }]],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'vm',
          include: ['test/vm/**/*.test.ts'],
          // One VM per kernel of kmod-harness.config.ts for the whole run, as a module's repo would.
          globalSetup: ['harness/src/vitest/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
