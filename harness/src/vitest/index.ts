// kmod-harness/vitest: VMs per kernel for test files, and matchers for their results.
//   const vms = await useKernels();
//   expect(run.kernelLog).toContainKernelLines(['mymod: loaded']);
//   expect(run).toHaveNoKernelErrors();
//   expect(run).toPassAllSubtests();
import { expect } from 'vitest';
import { containKernelLines, noKernelErrors, passAllSubtests } from './matchers.js';

export { useKernels, type KernelVm, type ModuleRun, type RunModuleOptions, type UseKernelsOptions, type ProvidedKernels } from './kernels.js';
export { containKernelLines, noKernelErrors, passAllSubtests, type HasKernelErrors, type HasSubtests, type MatchOutcome } from './matchers.js';
export type { KernelSlot } from './slots.js';

export interface KernelMatchers<R = unknown> {
  /** Each line (substring or RegExp) in the kernel log, in this order; other lines may come between. */
  toContainKernelLines(lines: ReadonlyArray<string | RegExp>): R;
  /** No oops, WARN, BUG, sanitizer report, lockdep splat, hung task or panic, and no new taint. */
  toHaveNoKernelErrors(): R;
  /** The test printed TAP/KTAP and none of its subtests failed; the message names each failure with its diagnostics. */
  toPassAllSubtests(): R;
}

declare module 'vitest' {
  // vitest's own declaration of Matchers has T = any: the merged one must match it.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends KernelMatchers<T> {}
}

expect.extend({
  toContainKernelLines(received: unknown, lines: ReadonlyArray<string | RegExp>) {
    const { pass, message } = containKernelLines(received, lines);
    return { pass, message: () => message };
  },
  toHaveNoKernelErrors(received: unknown) {
    const { pass, message } = noKernelErrors(received);
    return { pass, message: () => message };
  },
  toPassAllSubtests(received: unknown) {
    const { pass, message } = passAllSubtests(received);
    return { pass, message: () => message };
  },
});
