// One stream of progress events from every stage; the CLI prints it, reports and the
// benchmark read stage timings from it. Stages log through this, never to stdout directly.
export type Stage = 'setup' | 'kernel' | 'build' | 'image' | 'boot' | 'ssh' | 'load' | 'test' | 'unload' | 'teardown';

export type HarnessEvent =
  | { type: 'stage-start'; stage: Stage; kernel?: string; detail?: string }
  | { type: 'stage-end'; stage: Stage; kernel?: string; ms: number; detail?: string }
  | { type: 'info'; message: string; kernel?: string }
  | { type: 'warn'; message: string; kernel?: string };

export type Emit = (event: HarnessEvent) => void;

export const silent: Emit = () => {};
