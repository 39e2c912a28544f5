// What a kernel's .config says about how it must be booted and judged: a KASAN kernel is
// several times slower under TCG, kmemleak reports only when the harness asks for a scan, and
// KUnit runs a module's suites at load only when booted with kunit.enable=1.
export interface KernelTraits {
  kasan: boolean;
  kmemleak: boolean;
  lockdep: boolean;
  /** CONFIG_KUNIT=y (the debug kernels; no Debian kernel has it). `=m` would need kunit.ko in the guest first: not handled. */
  kunit: boolean;
}

/** Whether a .config's text has `option=y`. */
export function configHas(configText: string, option: string): boolean {
  return new RegExp(`^${option}=y$`, 'm').test(configText);
}

export function kernelTraits(configText: string): KernelTraits {
  const on = (option: string): boolean => configHas(configText, option);
  return { kasan: on('CONFIG_KASAN'), kmemleak: on('CONFIG_DEBUG_KMEMLEAK'), lockdep: on('CONFIG_PROVE_LOCKING'), kunit: on('CONFIG_KUNIT') };
}

/**
 * How much longer than a stock kernel its boot may take before it counts as hung: KASAN's
 * shadow memory and instrumented code make a TCG boot ~13 s instead of ~4 s (measured on 6.1).
 */
export function bootSlowness(traits: KernelTraits): number {
  return traits.kasan ? 3 : 1;
}
