// The kernel catalogue (images/kernels.json): which suites and package names make up each series; data, not code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { IMAGES_DIR } from '../util/paths.js';
import type { SuiteRef } from '../debian/mirror.js';
import { ARCHES, type Arch } from '../arch.js';

export type { SuiteRef } from '../debian/mirror.js';

export interface SeriesSpec {
  /** The kernel's name: the catalogue series (`6.1`), or a variant of it (`6.1/generic`). */
  series: string;
  /** The catalogue series it belongs to: `6.1` for `6.1/generic` too. */
  base: string;
  /** The Debian flavour of its packages: cloud-amd64 for the bare series, the variant's otherwise. */
  flavour: string;
  /** The architecture of its packages (and of the guest): amd64 for the bare series. */
  arch: Arch;
  /** Variant name -> flavour and architecture: the series' other kernels (`generic` -> amd64, `arm64` -> cloud-arm64). */
  variants: Record<string, Variant>;
  suites: SuiteRef[];
  /** Regular expression (source text) matching the ABI part of package names, e.g. 6.1.0-50. */
  abi: string;
  /** Templates of the packages every set starts from: the image, then the arch headers. */
  roots: string[];
  /** Template -> templates to use instead when it is missing or its .deb 404s. */
  alternatives: Record<string, string[]>;
  /** Depends whose names match this are part of the set (headers-common, kbuild, ...). */
  follow: string;
  /** Templated patterns each matched by some package of a complete set. */
  require: string[];
  layout: { vmlinuz: string; modules: string };
  /** Compiler hint: gcc majors besides the kernel's own that build its modules (with CC=gcc HOSTCC=gcc). */
  compiler: { gccAccepted: number[] };
}

/** One variant of a series: a Debian flavour, of an architecture. */
export interface Variant {
  flavour: string;
  arch: Arch;
}

export interface Catalogue {
  default: string;
  series: Record<string, SeriesSpec>;
}

export const CATALOGUE_FILE = path.join(IMAGES_DIR, 'kernels.json');

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Validate parsed JSON into a Catalogue, naming the first bad field. */
export function parseCatalogue(data: unknown, file = CATALOGUE_FILE): Catalogue {
  const root = data as { default?: unknown; series?: Record<string, Record<string, unknown>> };
  if (typeof root?.series !== 'object' || root.series === null) fail(file, 'missing "series"');
  const series: Record<string, SeriesSpec> = {};
  for (const [name, raw] of Object.entries(root.series)) {
    const where = `series "${name}"`;
    for (const key of ['flavour', 'abi', 'follow'] as const) {
      if (typeof raw[key] !== 'string') fail(file, `${where}: "${key}" must be a string`);
    }
    if (!isStringArray(raw.roots) || raw.roots.length === 0) fail(file, `${where}: "roots" must be a non-empty string array`);
    if (!isStringArray(raw.require)) fail(file, `${where}: "require" must be a string array`);
    const suites = raw.suites as Array<Record<string, unknown>> | undefined;
    if (!Array.isArray(suites) || suites.length === 0) fail(file, `${where}: "suites" must be a non-empty array`);
    const alternatives = (raw.alternatives ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(alternatives)) if (!isStringArray(v)) fail(file, `${where}: alternatives of "${k}" must be a string array`);
    const layout = raw.layout as { vmlinuz?: unknown; modules?: unknown } | undefined;
    if (typeof layout?.vmlinuz !== 'string' || typeof layout.modules !== 'string') fail(file, `${where}: "layout" needs "vmlinuz" and "modules"`);
    const variants = (raw.variants ?? {}) as Record<string, unknown>;
    if (typeof variants !== 'object' || variants === null || Array.isArray(variants)) fail(file, `${where}: "variants" must be an object`);
    const parsedVariants: Record<string, Variant> = {};
    for (const [k, v] of Object.entries(variants)) {
      // "generic": "amd64" is shorthand for { "flavour": "amd64", "arch": "amd64" }.
      const variant = (typeof v === 'string' ? { flavour: v, arch: 'amd64' } : v) as { flavour?: unknown; arch?: unknown } | null;
      if (!VARIANT_NAME.test(k) || typeof variant?.flavour !== 'string' || variant.flavour === '')
        fail(file, `${where}: variant "${k}" must be a lower-case name and a Debian flavour`);
      if (!ARCHES.includes(variant.arch as Arch)) fail(file, `${where}: variant "${k}": "arch" must be one of ${ARCHES.join(', ')}`);
      parsedVariants[k] = { flavour: variant.flavour, arch: variant.arch as Arch };
    }
    const compiler = (raw.compiler ?? {}) as { gccAccepted?: unknown };
    if (typeof compiler !== 'object' || compiler === null || Array.isArray(compiler)) fail(file, `${where}: "compiler" must be an object`);
    const gccAccepted = compiler.gccAccepted ?? [];
    if (!Array.isArray(gccAccepted) || !gccAccepted.every((n) => Number.isInteger(n) && n > 0))
      fail(file, `${where}: "compiler.gccAccepted" must be an array of gcc major versions`);
    series[name] = {
      series: name,
      base: name,
      flavour: raw.flavour as string,
      arch: 'amd64',
      variants: parsedVariants,
      suites: suites.map((s, i) => {
        if (typeof s.suite !== 'string') fail(file, `${where}: suites[${i}].suite must be a string`);
        if (s.archive !== 'debian' && s.archive !== 'debian-security') fail(file, `${where}: suites[${i}].archive must be "debian" or "debian-security"`);
        return { suite: s.suite, archive: s.archive, checkValidUntil: s.checkValidUntil !== false };
      }),
      abi: raw.abi as string,
      roots: raw.roots,
      alternatives: alternatives as Record<string, string[]>,
      follow: raw.follow as string,
      require: raw.require,
      layout: { vmlinuz: layout.vmlinuz, modules: layout.modules },
      compiler: { gccAccepted: gccAccepted as number[] },
    };
  }
  const def = typeof root.default === 'string' ? root.default : Object.keys(series)[0];
  if (!def || !series[def]) fail(file, `default series "${String(root.default)}" is not in "series"`);
  return { default: def, series };
}

let loaded: Catalogue | undefined;

export function loadCatalogue(file = CATALOGUE_FILE): Catalogue {
  if (file !== CATALOGUE_FILE) return parseCatalogue(JSON.parse(readFileSync(file, 'utf8')), file);
  loaded ??= parseCatalogue(JSON.parse(readFileSync(file, 'utf8')), file);
  return loaded;
}

/** Series names, oldest first. */
export function seriesNames(catalogue: Catalogue): string[] {
  const key = (s: string): number[] => s.split('.').map(Number);
  return Object.keys(catalogue.series).sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) if ((ka[i] ?? 0) !== (kb[i] ?? 0)) return (ka[i] ?? 0) - (kb[i] ?? 0);
    return a.localeCompare(b);
  });
}

/** Between a series and its variant in a kernel's name: `6.1/generic`. */
export const VARIANT_SEPARATOR = '/';
const VARIANT_NAME = /^[a-z][a-z0-9-]*$/;

/** Every variant name of the catalogue, series by series, oldest first: `5.10/generic`, `5.10/rt`, ... */
export function variantNames(catalogue: Catalogue): string[] {
  return seriesNames(catalogue).flatMap((s) => Object.keys(catalogue.series[s]!.variants).map((v) => `${s}${VARIANT_SEPARATOR}${v}`));
}

/** The spec of `series` (`6.1`) or of a variant of it (`6.1/rt`), undefined when the catalogue has neither. */
export function findSeriesSpec(catalogue: Catalogue, name: string): SeriesSpec | undefined {
  const [series, variant, ...rest] = name.split(VARIANT_SEPARATOR) as [string, string | undefined, ...string[]];
  const spec = Object.hasOwn(catalogue.series, series) ? catalogue.series[series] : undefined;
  if (!spec || rest.length > 0) return undefined;
  if (variant === undefined) return spec;
  const found = Object.hasOwn(spec.variants, variant) ? spec.variants[variant] : undefined;
  return found === undefined ? undefined : { ...spec, series: name, flavour: found.flavour, arch: found.arch };
}

/** The spec of `series` or of a variant, or a UsageError listing the known ones. */
export function seriesSpec(catalogue: Catalogue, series: string): SeriesSpec {
  const spec = findSeriesSpec(catalogue, series);
  if (spec) return spec;
  const base = catalogue.series[series.split(VARIANT_SEPARATOR)[0]!];
  if (base && series.includes(VARIANT_SEPARATOR)) {
    throw new UsageError(`series ${base.series} has no variant '${series.slice(base.series.length + 1)}'`, {
      fix: `use one of: ${[base.series, ...Object.keys(base.variants).map((v) => `${base.series}${VARIANT_SEPARATOR}${v}`)].join(', ')}`,
    });
  }
  throw new UsageError(`unknown kernel series '${series}'`, {
    fix: `use one of: ${seriesNames(catalogue).join(', ')} (or add it to ${CATALOGUE_FILE})`,
  });
}

/** Fill {abi}, {flavour}, {release} in a template. */
export function expand(template: string, vars: { abi: string; flavour: string }): string {
  return template.replaceAll('{release}', `${vars.abi}-${vars.flavour}`).replaceAll('{abi}', vars.abi).replaceAll('{flavour}', vars.flavour);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Fill a pattern template with escaped values, so the '+' of 6.12.117+deb13 matches literally. */
export function expandPattern(template: string, vars: { abi: string; flavour: string }): RegExp {
  return new RegExp(
    template
      .replaceAll('{release}', escapeRegExp(`${vars.abi}-${vars.flavour}`))
      .replaceAll('{abi}', escapeRegExp(vars.abi))
      .replaceAll('{flavour}', escapeRegExp(vars.flavour)),
  );
}

/** A package-name template turned into an anchored pattern whose group 1 captures the ABI. */
export function abiCapture(template: string, spec: Pick<SeriesSpec, 'abi' | 'flavour'>): RegExp {
  const parts = template.split('{abi}').map((part) => escapeRegExp(part.replaceAll('{flavour}', spec.flavour)));
  if (parts.length !== 2) throw new Error(`template '${template}' must contain {abi} exactly once`);
  return new RegExp(`^${parts[0]}(${spec.abi})${parts[1]}$`);
}
