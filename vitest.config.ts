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
          globalSetup: ['test/vm/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
