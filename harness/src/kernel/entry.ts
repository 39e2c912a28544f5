// One cached kernel = <cacheRoot>/kernels/<series>_<version>/ with the unpacked root and kernel.json describing it.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareVersions } from '../debian/debversion.js';
import type { KernelArtifacts } from '../kernel-artifacts.js';

export const KERNELS_AREA = 'kernels';
export const METADATA_FILE = 'kernel.json';
export const ROOT_DIR = 'root';

export type { KernelArtifacts } from '../kernel-artifacts.js';

/** What kernel.json holds: the artifacts with paths relative to the entry, plus its version. */
interface Metadata extends Omit<KernelArtifacts, 'vmlinuz' | 'modulesDir' | 'headersDir' | 'config'> {
  version: string;
  paths: { vmlinuz: string; modulesDir: string; headersDir: string; config: string };
}

/** Cache key of a series at one image version; only characters safe in a file name. */
export function entryKey(series: string, version: string): string {
  return `${series}_${version}`.replace(/[^A-Za-z0-9.+~_-]/g, '_');
}

/** Where cachedDir() will publish `key`; the headers' Makefile must name this final path. */
export function entryDir(cacheRoot: string, key: string): string {
  return path.join(cacheRoot, KERNELS_AREA, key);
}

export async function writeMetadata(dir: string, finalDir: string, artifacts: KernelArtifacts, version: string): Promise<void> {
  const rel = (p: string): string => path.relative(finalDir, p);
  const { vmlinuz, modulesDir, headersDir, config, ...rest } = artifacts;
  const metadata: Metadata = {
    ...rest,
    version,
    paths: { vmlinuz: rel(vmlinuz), modulesDir: rel(modulesDir), headersDir: rel(headersDir), config: rel(config) },
  };
  await writeFile(path.join(dir, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
}

export async function readMetadata(dir: string): Promise<{ artifacts: KernelArtifacts; version: string }> {
  const m = JSON.parse(await readFile(path.join(dir, METADATA_FILE), 'utf8')) as Metadata;
  const abs = (p: string): string => path.join(dir, p);
  const { paths, version, ...rest } = m;
  return {
    version,
    artifacts: { ...rest, vmlinuz: abs(paths.vmlinuz), modulesDir: abs(paths.modulesDir), headersDir: abs(paths.headersDir), config: abs(paths.config) },
  };
}

/** Complete cached entries of `series`, newest first (for running without a reachable mirror). */
export async function cachedEntries(cacheRoot: string, series: string): Promise<{ dir: string; version: string; artifacts: KernelArtifacts }[]> {
  const area = path.join(cacheRoot, KERNELS_AREA);
  const found = [];
  // The key's spelling of the series: 6.1/generic is 6.1_generic_<version>.
  const prefix = entryKey(series, '');
  for (const name of await readdir(area).catch(() => [] as string[])) {
    if (name.startsWith('.') || !name.startsWith(prefix)) continue;
    const dir = path.join(area, name);
    const entry = await readMetadata(dir).catch(() => undefined);
    if (entry && entry.artifacts.series === series) found.push({ dir, ...entry });
  }
  return found.sort((a, b) => compareVersions(b.version, a.version));
}
