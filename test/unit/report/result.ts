import type { KernelResult } from '../../../harness/src/run.js';

/** A passing 6.1 result, with `over` on top: what each report test starts from. */
export const result = (over: Partial<KernelResult>): KernelResult => ({
  kernel: '6.1.0-56-cloud-amd64',
  series: '6.1',
  arch: 'amd64',
  outcome: 'pass',
  reasons: [],
  exitCode: 0,
  signal: null,
  kernelErrors: [],
  diagnostics: [],
  stages: {},
  logs: {},
  ...over,
});
