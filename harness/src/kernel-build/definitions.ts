// Kernels the harness builds from Debian's source: `<series>-debug` for every catalogue series,
// and the ones a config file defines (`kernelBuilds`). A definition says which series' source
// to build and which Kconfig fragments go over the harness's guest configuration.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Arch } from '../arch.js';
import { UsageError } from '../errors.js';
import { IMAGES_DIR } from '../util/paths.js';
import { FragmentSyntaxError, optionsFragment, parseFragment, type Fragment, type FragmentSource } from './kconfig.js';

export const DEBUG_SUFFIX = '-debug';
export const KCONFIG_DIR = path.join(IMAGES_DIR, 'kconfig');
/** Everything the VM needs, built in: the base of every kernel the harness builds. */
export const GUEST_FRAGMENT = path.join(KCONFIG_DIR, 'guest.config');
/** What the guest needs that only its architecture has (q35's ACPI and 8250; virt's ECAM PCI and PL011). */
export const GUEST_ARCH_FRAGMENTS: Record<Arch, string> = {
  amd64: path.join(KCONFIG_DIR, 'guest-x86.config'),
  arm64: path.join(KCONFIG_DIR, 'guest-arm64.config'),
};

/** The guest configuration of an architecture: the common fragment, then its own. */
export function guestFragments(arch: Arch): string[] {
  return [GUEST_FRAGMENT, GUEST_ARCH_FRAGMENTS[arch]];
}
/** KASAN, KFENCE, lockdep, kmemleak, UBSAN, ... : what makes `<series>-debug` a debug kernel. */
export const DEBUG_FRAGMENT = path.join(KCONFIG_DIR, 'debug.config');
/** Parts of the debug configuration that only some kernel versions have (from `since`, before `before`). */
export const GATED_DEBUG_FRAGMENTS: ReadonlyArray<{ file: string; since?: [number, number]; before?: [number, number] }> = [
  { file: path.join(KCONFIG_DIR, 'debug-kfence.config'), since: [5, 12] },
  { file: path.join(KCONFIG_DIR, 'debug-info-none.config'), since: [5, 18] },
  // 6.9 dropped UBSAN_SANITIZE_ALL: UBSAN instruments everything there.
  { file: path.join(KCONFIG_DIR, 'debug-ubsan-all.config'), before: [6, 9] },
];

/** The series as [major, minor] ('6.12' -> [6, 12]). */
function seriesVersion(series: string): [number, number] {
  const [major = 0, minor = 0] = series.split('.').map(Number);
  return [major, minor];
}

const atLeast = (v: [number, number], w: [number, number]): boolean => v[0] > w[0] || (v[0] === w[0] && v[1] >= w[1]);

/** The debug fragments for `series`: the common one, then those its version has the options of. */
export function debugFragments(series: string): string[] {
  const v = seriesVersion(series);
  return [DEBUG_FRAGMENT, ...GATED_DEBUG_FRAGMENTS.filter((g) => (!g.since || atLeast(v, g.since)) && (!g.before || !atLeast(v, g.before))).map((g) => g.file)];
}

/** As a config file writes it (`kernelBuilds` entries); paths relative to the config file. */
export interface KernelBuildInput {
  name: string;
  series: string;
  /** Kconfig fragment files applied after the harness's own, in order. */
  fragments?: string[];
  /** Single options, applied last: `{ CONFIG_FOO: 'y', CONFIG_BAR: false, CONFIG_N: 64 }`. */
  config?: Record<string, string | number | boolean>;
  /** Start from the harness's debug fragment too (default true); false: the guest config only. */
  debug?: boolean;
}

/** A definition with its paths absolute: what the build stage takes. */
export interface KernelBuildDef {
  name: string;
  /** The catalogue series whose source it is built from. */
  series: string;
  /** The architecture it is built for. */
  arch: Arch;
  /** The Debian kernel whose compiler it is built with: the series (`6.1`), or its arm64 variant (`6.1/arm64`). */
  stock: string;
  /** Absolute fragment files, in order: guest, debug (unless off), the user's. */
  fragmentFiles: string[];
  config: Record<string, string | number | boolean>;
  /** Where it was defined, for messages: 'built in' or the config file. */
  definedIn: string;
}

export function debugName(series: string): string {
  return `${series}${DEBUG_SUFFIX}`;
}

/**
 * The harness's own `<series>-debug` for each series, and `<series>/arm64-debug` for each of
 * `arm64Variants` (`6.1/arm64`): the same debug configuration, built for an arm64 guest with the
 * compiler of that variant's Debian kernel.
 */
export function builtinDefinitions(series: readonly string[], arm64Variants: readonly string[] = []): KernelBuildDef[] {
  const def = (name: string, s: string, arch: Arch, stock: string): KernelBuildDef => ({
    name,
    series: s,
    arch,
    stock,
    fragmentFiles: [...guestFragments(arch), ...debugFragments(s)],
    config: {},
    definedIn: 'built in',
  });
  return [...series.map((s) => def(debugName(s), s, 'amd64', s)), ...arm64Variants.map((v) => def(debugName(v), v.split('/')[0]!, 'arm64', v))];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** A config file's kernelBuilds, checked against the catalogue and made absolute against `base`. */
export function userDefinitions(inputs: readonly KernelBuildInput[], series: readonly string[], base: string, definedIn: string): KernelBuildDef[] {
  const taken = new Set([...series, ...series.map(debugName), 'all']);
  return inputs.map((input, i) => {
    const where = `kernelBuilds[${i}]`;
    if (!NAME.test(input.name))
      throw new UsageError(`${where}.name: '${input.name}' is not a usable kernel name`, {
        fix: 'use letters, digits, dot, dash, underscore or plus, starting with a letter or digit (no ":" or ",")',
      });
    if (taken.has(input.name))
      throw new UsageError(`${where}.name: '${input.name}' is already a kernel name`, {
        fix: 'choose another name: the catalogue series, their -debug builds and earlier kernelBuilds are taken',
      });
    taken.add(input.name);
    if (!series.includes(input.series))
      throw new UsageError(`${where}.series: unknown kernel series '${input.series}'`, { fix: `use one of: ${series.join(', ')}` });
    const own = (input.fragments ?? []).map((f) => path.resolve(base, f));
    return {
      name: input.name,
      series: input.series,
      arch: 'amd64' as const,
      stock: input.series,
      fragmentFiles: [...guestFragments('amd64'), ...(input.debug === false ? [] : debugFragments(input.series)), ...own],
      config: input.config ?? {},
      definedIn,
    };
  });
}

/** The definition a kernel name stands for, if the harness builds it. */
export function findDefinition(name: string, defs: readonly KernelBuildDef[]): KernelBuildDef | undefined {
  return defs.find((d) => d.name === name);
}

/** Read and parse a definition's fragments: a missing file or a bad line is a UsageError naming it. */
export async function readFragments(def: KernelBuildDef): Promise<{ sources: FragmentSource[]; fragments: Fragment[] }> {
  const sources: FragmentSource[] = [];
  for (const file of def.fragmentFiles) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`kernel '${def.name}': the Kconfig fragment ${file} cannot be read (${error.code ?? error.message})`, {
        fix: `check the fragments of '${def.name}' in ${def.definedIn} (paths are relative to the config file)`,
        cause: error,
      });
    });
    sources.push({ name: file, text });
  }
  try {
    const fragments = sources.map(parseFragment);
    if (Object.keys(def.config).length > 0) fragments.push(optionsFragment(def.config, `the config options of '${def.name}'`));
    return { sources, fragments };
  } catch (error) {
    if (error instanceof FragmentSyntaxError)
      throw new UsageError(`kernel '${def.name}': ${error.message}`, { fix: 'fix that line of the fragment', cause: error });
    throw error;
  }
}
