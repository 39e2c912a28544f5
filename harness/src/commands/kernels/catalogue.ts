// `kmod-harness kernels`: per catalogue series, the build a run would pick now, the builds in
// the cache, and the compiler its modules get. Resolves from the package indexes exactly as
// prepareKernel does, but downloads no kernel.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot as defaultCacheRoot } from '../../cache/store.js';
import { silent, type Emit } from '../../events.js';
import { hostGcc } from '../../toolchain/index.js';
import { TOOLCHAINS_AREA } from '../../toolchain/root.js';
import { kernelSuite, parseCcVersionText, planToolchain, type CompilerHint, type CompilerId, type HostGcc } from '../../toolchain/select.js';
import { aptState, listFiles, sourcesLine } from '../../debian/apt.js';
import { loadCatalogue, seriesNames, VARIANT_SEPARATOR, type SeriesSpec } from '../../kernel/catalogue.js';
import { cachedEntries } from '../../kernel/entry.js';
import { findMirrors, parseSourcesList, type Mirrors } from '../../debian/mirror.js';
import type { Candidate } from '../../kernel/packages-index.js';
import { resolveSeries } from '../../kernel/resolve.js';
import { alignColumns, utcTime } from '../../util/format.js';

export interface KernelBuild {
  /** uname -r. */
  release: string;
  /** Debian version of the image package (names the cache entry). */
  version: string;
  suite: string;
}

/** Where the kernel's gcc is known from: its CONFIG_CC_VERSION_TEXT (cached build) or its headers package's Depends (index). */
export type CompilerSource = 'kernel-config' | 'package-index';

export type CompilerInfo =
  | { kind: 'host'; kernelGcc: number; hostGcc: number; from: CompilerSource }
  | { kind: 'root'; kernelGcc: number; key: string; cached: boolean; from: CompilerSource }
  | { kind: 'unknown'; why: string };

export interface KernelRow {
  series: string;
  isDefault: boolean;
  suites: string[];
  /** The series' other Debian flavours, asked for as `<series>/<name>` (resolved when first used). */
  variants?: Array<{ name: string; flavour: string }>;
  /**
   * The newest complete build in the suites' indexes: what a run picks (only if its .debs
   * turn out to be gone does the run fall back to an older one). Undefined when unresolved.
   */
  resolved?: KernelBuild & { cached: boolean };
  /** Why nothing resolved, or why the answer may be stale (a suite unreadable, an index not refreshed). */
  problems: string[];
  /** With no index readable, what a run uses instead: the newest cached build (as prepareKernel does). */
  fallback?: KernelBuild;
  /** When the oldest of the suites' indexes was downloaded (ms since the epoch). */
  indexUpdatedMs?: number;
  /** Complete cache entries, newest first. */
  cached: (KernelBuild & { dir: string })[];
  /** For the build a run would use: the resolved one, else the newest cached one. */
  compiler: CompilerInfo;
}

export interface ListKernelsOptions {
  cacheRoot?: string;
  emit?: Emit;
  /** Resolve only from indexes already in the cache, never updating them. */
  offline?: boolean;
}

/** The gcc major named in the Depends of a candidate's headers package: gcc-14, gcc-16-for-host, linux-compiler-gcc-12-x86. */
export function gccFromDepends(packages: Pick<Candidate['packages'][number], 'name' | 'depends'>[]): number | undefined {
  for (const p of packages) {
    if (!p.name.startsWith('linux-headers-')) continue;
    const m = /(?:^|[\s,|])(?:linux-compiler-)?gcc-(\d+)(?:-[a-z0-9-]+)?(?=$|[\s,|(:])/.exec(p.depends);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** planToolchain's choice as a row shows it; a kernel it cannot serve (clang, no suite) is 'unknown' with the reason. */
export function compilerInfo(input: {
  compiler: CompilerId;
  from: CompilerSource;
  host: HostGcc;
  hint: CompilerHint | undefined;
  suite: string | undefined;
  cachedToolchains: ReadonlySet<string>;
}): CompilerInfo {
  try {
    const plan = planToolchain(input);
    const kernelGcc = input.compiler.major;
    if (plan.kind === 'root') return { kind: 'root', kernelGcc, key: plan.key, cached: input.cachedToolchains.has(plan.key), from: input.from };
    return { kind: 'host', kernelGcc, hostGcc: input.host.major!, from: input.from };
  } catch (error) {
    return { kind: 'unknown', why: (error as Error).message };
  }
}

/**
 * The mirrors the cached indexes of `spec` were made from, such that ensureLists finds them
 * current and updates nothing; or why the series cannot be resolved without the network.
 */
async function cachedIndexMirrors(spec: SeriesSpec, root: string): Promise<{ mirrors: Mirrors } | { why: string }> {
  const mirrors: Mirrors = {};
  for (const suite of spec.suites) {
    const state = aptState(root, suite, { uri: '', from: '' });
    const text = await readFile(state.sourcesFile, 'utf8').catch(() => undefined);
    const uri = text === undefined ? undefined : parseSourcesList(text, state.sourcesFile)[0]?.uris[0];
    const stamp = await stat(state.stampFile).catch(() => undefined);
    // ensureLists refreshes when the sources line differs or the stamp is missing: both would go to the network.
    if (!uri || text !== sourcesLine(uri, suite.suite) || !stamp || (await listFiles(state)).length === 0) {
      return { why: `offline: no complete package index of ${suite.suite} in the cache` };
    }
    const known = mirrors[suite.archive];
    if (known && known.uri !== uri) return { why: `offline: the cached indexes of ${spec.series} come from different mirrors` };
    mirrors[suite.archive] = { uri, from: state.sourcesFile };
  }
  return { mirrors };
}

interface Resolved {
  newest?: Candidate;
  /** No suite's index could be read: prepareKernel then falls back to the cache. */
  unreadable?: boolean;
  problems: string[];
  indexUpdatedMs?: number;
}

async function resolveNewest(spec: SeriesSpec, root: string, mirrors: Mirrors | undefined, emit: Emit): Promise<Resolved> {
  let use = mirrors;
  if (!use) {
    const found = await cachedIndexMirrors(spec, root);
    if ('why' in found) return { problems: [found.why] };
    use = found.mirrors;
  }
  const problems: string[] = [];
  // resolveSeries and ensureLists report unreadable suites and stale indexes as warnings.
  const collect: Emit = (event) => {
    if (event.type === 'warn') problems.push(event.message);
    emit(event);
  };
  try {
    const resolution = await resolveSeries(spec, use, root, { emit: collect, ...(mirrors ? {} : { listsMaxAgeMs: Infinity }) });
    const stamps = await Promise.all(
      spec.suites.map((s) =>
        stat(aptState(root, s, { uri: '', from: '' }).stampFile).then(
          (i) => i.mtimeMs,
          () => undefined,
        ),
      ),
    );
    const known = stamps.filter((s): s is number => s !== undefined);
    const newest = resolution.candidates[0];
    if (!newest && resolution.errors.length === 0)
      problems.push(`no complete ${spec.series} ${spec.flavour} kernel in ${spec.suites.map((s) => s.suite).join(', ')} (check images/kernels.json)`);
    const unreadable = !newest && resolution.errors.length > 0;
    return { ...(newest ? { newest } : { unreadable }), problems, ...(known.length ? { indexUpdatedMs: Math.min(...known) } : {}) };
  } catch (error) {
    // Not a mirror problem (a missing apt-get, say): still worth listing the cached builds.
    return { problems: [...problems, `cannot resolve: ${(error as Error).message}`] };
  }
}

async function cachedToolchains(root: string): Promise<Set<string>> {
  const names = await readdir(path.join(root, TOOLCHAINS_AREA)).catch(() => [] as string[]);
  return new Set(names.filter((n) => !n.startsWith('.')));
}

/** One row per catalogue series, oldest series first. Updates stale package indexes unless `offline`. */
export async function listKernels(options: ListKernelsOptions = {}): Promise<KernelRow[]> {
  const root = options.cacheRoot ?? defaultCacheRoot();
  const emit = options.emit ?? silent;
  const catalogue = loadCatalogue();
  const mirrors = options.offline ? undefined : await findMirrors();
  const toolchains = await cachedToolchains(root);
  const hosts = new Map<string, Promise<HostGcc>>();
  const host = (command: string): Promise<HostGcc> => {
    if (!hosts.has(command)) hosts.set(command, hostGcc(command));
    return hosts.get(command)!;
  };

  return Promise.all(
    seriesNames(catalogue).map(async (series): Promise<KernelRow> => {
      const spec = catalogue.series[series]!;
      const [entries, resolved] = await Promise.all([cachedEntries(root, series), resolveNewest(spec, root, mirrors, emit)]);
      const cached = entries.map((e) => ({ release: e.artifacts.release, version: e.version, suite: kernelSuite(e.artifacts.packages) ?? '?', dir: e.dir }));
      const newest = resolved.newest;
      const inCache = newest && entries.find((e) => e.version === newest.version);

      // The compiler of the build a run would use; exact from a cached kernel's config, else the index's word.
      let compiler: CompilerInfo = { kind: 'unknown', why: 'unknown until fetched' };
      const context = { hint: spec.compiler, cachedToolchains: toolchains };
      const fromEntry = async (entry: (typeof entries)[number]): Promise<CompilerInfo> => {
        try {
          const id = parseCcVersionText(entry.artifacts.ccVersionText);
          return compilerInfo({ ...context, compiler: id, from: 'kernel-config', host: await host(id.command), suite: kernelSuite(entry.artifacts.packages) });
        } catch (error) {
          return { kind: 'unknown', why: (error as Error).message };
        }
      };
      if (inCache) compiler = await fromEntry(inCache);
      else if (newest) {
        const major = gccFromDepends(newest.packages);
        if (major !== undefined) {
          const command = `gcc-${major}`;
          const id: CompilerId = { family: 'gcc', major, version: String(major), command, text: `${command} (from the Depends of its headers package)` };
          compiler = compilerInfo({ ...context, compiler: id, from: 'package-index', host: await host(command), suite: newest.suite.suite });
        }
      } else if (entries[0]) compiler = await fromEntry(entries[0]);

      return {
        series,
        isDefault: series === catalogue.default,
        suites: spec.suites.map((s) => s.suite),
        variants: Object.entries(spec.variants).map(([name, v]) => ({ name: `${series}${VARIANT_SEPARATOR}${name}`, flavour: v.flavour })),
        ...(newest ? { resolved: { release: newest.release, version: newest.version, suite: newest.suite.suite, cached: inCache !== undefined } } : {}),
        problems: resolved.problems,
        ...(resolved.unreadable && cached[0] ? { fallback: cached[0] } : {}),
        ...(resolved.indexUpdatedMs !== undefined ? { indexUpdatedMs: resolved.indexUpdatedMs } : {}),
        cached,
        compiler,
      };
    }),
  );
}

function describeCompiler(c: CompilerInfo): string {
  const hinted = c.kind !== 'unknown' && c.from === 'package-index' ? ' (per index)' : '';
  switch (c.kind) {
    case 'host':
      return `host gcc-${c.hostGcc}${c.hostGcc === c.kernelGcc ? '' : ` (kernel: gcc-${c.kernelGcc}, accepted)`}${hinted}`;
    case 'root':
      return `${c.key} root, ${c.cached ? 'cached' : 'not cached'}${hinted}`;
    case 'unknown':
      return c.why;
  }
}

/** The rows as an aligned plain-text table, problems and footnotes below it. */
export function formatKernels(rows: KernelRow[], options: { userKernels?: string[] } = {}): string {
  const table = [['SERIES', 'SUITES', 'RESOLVES TO', 'CACHED BUILDS', 'COMPILER']];
  for (const row of rows) {
    const r = row.resolved;
    const current = (b: KernelBuild): string => (r && b.version === r.version ? ' (current)' : '');
    table.push([
      `${row.series}${row.isDefault ? ' *' : ''}`,
      row.suites.join(', '),
      r
        ? `${r.release} ${r.version} (${r.suite})${r.cached ? '' : ', not cached'}`
        : row.fallback
          ? `unresolved (see below): runs use the cached ${row.fallback.version}`
          : 'unresolved (see below)',
      row.cached.length ? row.cached.map((b) => `${b.version}${current(b)}`).join(', ') : '-',
      describeCompiler(row.compiler),
    ]);
  }
  const lines = alignColumns(table);
  lines.push('', '* default series (used when --kernel names none)');
  const variants = rows.flatMap((r) => (r.variants ?? []).map((v) => `${v.name} (${v.flavour})`));
  if (variants.length) lines.push(`Other flavours, as <series>/<variant> (resolved when a run first asks for one; not part of 'all'): ${variants.join(', ')}`);
  const dates = rows.flatMap((r) => (r.indexUpdatedMs === undefined ? [] : [r.indexUpdatedMs]));
  if (dates.length)
    lines.push(`Resolved from package indexes downloaded ${utcTime(Math.min(...dates))} UTC or later; a run downloads the resolved build if it is not cached.`);
  if (rows.some((r) => r.compiler.kind !== 'unknown' && r.compiler.from === 'package-index')) {
    lines.push("(per index): gcc named by the headers package's Depends; the exact compiler is known once the kernel is fetched.");
  }
  for (const row of rows) for (const problem of row.problems) lines.push(`${row.series}: ${problem}`);
  lines.push(
    'Kernels you build yourself (buildroot:<output dir>, local:<bzImage>,<build dir>) are not in the catalogue and not listed; name them with --kernel or KMOD_HARNESS_KERNELS.',
  );
  if (options.userKernels?.length) lines.push(`Selected now: ${options.userKernels.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
