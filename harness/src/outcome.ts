// The one-word outcomes a run can end in, ordered by the pipeline stage that decides them.
export const OUTCOMES = [
  'pass',
  'build-failed',
  'boot-failed',
  'load-failed',
  'test-failed',
  'kernel-error',
  'timeout',
  'unload-failed',
  'infra-error',
] as const;

export type Outcome = (typeof OUTCOMES)[number];
