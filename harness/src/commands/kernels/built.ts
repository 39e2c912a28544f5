// The kernels the harness builds, for `kmod-harness kernels`: each `<series>-debug` and each of
// the config's kernelBuilds, the source version a build would use now, and the builds in the
// cache (whether each matches the definition's configuration today). Builds nothing.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot as defaultCacheRoot } from '../../cache/store.js';
import { silent, type Emit } from '../../events.js';
import { loadCatalogue, seriesSpec } from '../../kernel/catalogue.js';
import { readMetadata } from '../../kernel/entry.js';
import { readFragments, type KernelBuildDef } from '../../kernel-build/definitions.js';
import { mergeFragments, renderFragment } from '../../kernel-build/kconfig.js';
import { cachedBuilds } from '../../kernel-build/build.js';
import { resolveSource, sourceKey, SOURCES_AREA } from '../../kernel-build/source.js';
import { alignColumns } from '../../util/format.js';

export interface BuiltKernelEntry {
  dir: string;
  release: string;
  /** The linux-source version it was built from. */
  version: string;
  /** Built from the definition's configuration as it is now. */
  current: boolean;
  objects?: number;
}

export interface BuiltKernelRow {
  name: string;
  series: string;
  definedIn: string;
  /** The source a build would use now. */
  source?: { package: string; version: string; suite: string; unpacked: boolean };
  problems: string[];
  cached: BuiltKernelEntry[];
}

async function builtEntries(root: string, name: string, rendered: string | undefined): Promise<BuiltKernelEntry[]> {
  const out: BuiltKernelEntry[] = [];
  for (const { dir, info } of await cachedBuilds(root, name)) {
    const meta = await readMetadata(dir).catch(() => undefined);
    if (!meta || meta.artifacts.series !== name) continue;
    out.push({
      dir,
      release: meta.artifacts.release,
      version: meta.version,
      current: rendered !== undefined && info.fragment === rendered,
      ...(info.objects ? { objects: info.objects } : {}),
    });
  }
  return out;
}

export async function listBuiltKernels(
  defs: readonly KernelBuildDef[],
  options: { cacheRoot?: string; emit?: Emit; offline?: boolean } = {},
): Promise<BuiltKernelRow[]> {
  const root = options.cacheRoot ?? defaultCacheRoot();
  const emit = options.emit ?? silent;
  const catalogue = loadCatalogue();
  return Promise.all(
    defs.map(async (def) => {
      const problems: string[] = [];
      let rendered: string | undefined;
      try {
        rendered = renderFragment(mergeFragments((await readFragments(def)).fragments));
      } catch (error) {
        problems.push((error as Error).message);
      }
      const { best, errors } = await resolveSource(seriesSpec(catalogue, def.series), { cacheRoot: root, emit, ...(options.offline ? { offline: true } : {}) });
      for (const e of errors) problems.push(e.message);
      if (!best && errors.length === 0)
        problems.push(`no linux-source-${def.series} in the ${options.offline ? 'cached ' : ''}package indexes of ${def.series}'s suites`);
      const unpacked = best
        ? await stat(path.join(root, SOURCES_AREA, sourceKey(best.pkg))).then(
            () => true,
            () => false,
          )
        : false;
      return {
        name: def.name,
        series: def.series,
        definedIn: def.definedIn,
        ...(best ? { source: { package: best.pkg.name, version: best.pkg.version, suite: best.suite, unpacked } } : {}),
        problems,
        cached: (await builtEntries(root, def.name, rendered)).map((b) => ({ ...b, current: b.current && (!best || b.version === best.pkg.version) })),
      };
    }),
  );
}

/** The rows as a table after the catalogue's, in the same style. */
export function formatBuiltKernels(rows: readonly BuiltKernelRow[]): string {
  const table = [['BUILT KERNEL', 'SERIES', 'SOURCE NOW', 'CACHED BUILDS', 'DEFINED IN']];
  for (const r of rows) {
    table.push([
      r.name,
      r.series,
      r.source ? `${r.source.package} ${r.source.version} (${r.source.suite})${r.source.unpacked ? '' : ', not downloaded'}` : 'unresolved (see below)',
      r.cached.length
        ? r.cached.map((b) => `${b.release} ${b.version}${b.current ? ' (current)' : ' (other configuration or source)'}`).join(', ')
        : '- (built on first use, ~10-15 min)',
      r.definedIn,
    ]);
  }
  const lines = alignColumns(table);
  for (const r of rows) for (const p of r.problems) lines.push(`${r.name}: ${p}`);
  return `${lines.join('\n')}\n`;
}
