// Kconfig fragments: read, merge (later fragments win, as merge_config.sh does), render as the
// KCONFIG_ALLCONFIG file of `make allnoconfig`, and check the built .config against them.
// Kconfig silently drops what it cannot satisfy (a missing dependency, a symbol this kernel
// does not have), so every option asked for is verified, never assumed.

/** Option name (with its CONFIG_ prefix) -> value as written in a .config: y, m, n, "text", 42. */
export type Fragment = Map<string, string>;

export interface FragmentSource {
  /** For errors: a file path, or a description such as `the debug fragment`. */
  name: string;
  text: string;
}

export class FragmentSyntaxError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly text: string,
  ) {
    super(`${source}:${line}: not a Kconfig line: '${text}' (expected CONFIG_NAME=value or '# CONFIG_NAME is not set')`);
  }
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;
const VALUE = /^(?:[ynm]|"(?:[^"\\]|\\.)*"|-?\d+|0x[0-9a-fA-F]+)$/;

/** One fragment's options; throws FragmentSyntaxError naming the file and line of a bad one. */
export function parseFragment(source: FragmentSource): Fragment {
  const options: Fragment = new Map();
  source.text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const unset = UNSET.exec(line);
    if (unset) {
      options.set(unset[1]!, 'n');
      return;
    }
    if (line === '' || line.startsWith('#')) return;
    const set = SET.exec(line);
    if (!set || !VALUE.test(set[2]!)) throw new FragmentSyntaxError(source.name, i + 1, line);
    options.set(set[1]!, set[2]!);
  });
  return options;
}

/** Single options as a config file gives them (`{ CONFIG_FOO: 'y' }`, `FOO` without the prefix too). */
export function optionsFragment(options: Record<string, string | number | boolean>, name = 'config'): Fragment {
  const text = Object.entries(options)
    .map(([key, value]) => {
      const option = key.startsWith('CONFIG_') ? key : `CONFIG_${key}`;
      if (value === false || value === 'n') return `# ${option} is not set`;
      if (value === true) return `${option}=y`;
      return `${option}=${value}`;
    })
    .join('\n');
  return parseFragment({ name, text });
}

/** Later fragments override earlier ones, option by option. */
export function mergeFragments(fragments: readonly Fragment[]): Fragment {
  const merged: Fragment = new Map();
  for (const fragment of fragments) for (const [k, v] of fragment) merged.set(k, v);
  return merged;
}

/**
 * The merged fragment as a .config-style file (the KCONFIG_ALLCONFIG of allnoconfig), sorted by
 * name: each option is there once, so order means nothing, and moving a line between fragments
 * keeps the build's cache key.
 */
export function renderFragment(fragment: Fragment): string {
  return (
    [...fragment]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => (v === 'n' ? `# ${k} is not set` : `${k}=${v}`))
      .join('\n') + '\n'
  );
}

/** A built .config's values: `CONFIG_X=v` lines; unset symbols are simply absent. */
export function parseDotConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = SET.exec(line.trim());
    if (m) values.set(m[1]!, m[2]!);
  }
  return values;
}

export interface Mismatch {
  option: string;
  wanted: string;
  /** undefined: not set at all in the built .config. */
  got: string | undefined;
}

export interface ConfigCheck {
  /** Names no Kconfig file of this kernel defines: a typo, or an option of another version. */
  unknown: string[];
  /** Known options that did not get the value asked for (an unmet dependency, a choice). */
  dropped: Mismatch[];
}

/**
 * Compare what was asked for with what the kernel's Kconfig made of it. `known` holds every
 * symbol name the source tree defines (see kconfigSymbols); an option asked to be off counts as
 * satisfied when it is absent, whether the kernel knows it or not.
 */
export function checkConfig(wanted: Fragment, built: Map<string, string>, known: ReadonlySet<string>): ConfigCheck {
  const unknown: string[] = [];
  const dropped: Mismatch[] = [];
  for (const [option, value] of wanted) {
    const got = built.get(option);
    if (value === 'n') {
      if (got !== undefined) dropped.push({ option, wanted: value, got });
      continue;
    }
    if (!known.has(option)) unknown.push(option);
    else if (got !== value) dropped.push({ option, wanted: value, got });
  }
  return { unknown, dropped };
}

/** Symbols a Kconfig file defines (`config FOO`, `menuconfig FOO`), with the CONFIG_ prefix. */
export function kconfigSymbols(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) out.push(`CONFIG_${m[1]}`);
  return out;
}
