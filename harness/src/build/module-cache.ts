// Built modules kept in the cache area `builds/`, so that a module whose inputs have not changed
// is not built again (kbuild takes ~3 s even when there is nothing to do). An entry is found by
// what is known before a build: the module's own files (paths, modes, contents), its path (debug
// info names it), the kernel's headers, the compiler and make's variables. It is used only if
// every other file the build read is unchanged too: kbuild's own dependency lists (the `deps_`
// of each `.*.cmd`) name each header and any source outside the module's directory, and the
// entry records their identities. Only builds that succeeded are kept.
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cachedDir, discardEntry } from '../cache/store.js';
import type { BuiltModule } from './built-module.js';

export const BUILDS_AREA = 'builds';
const RESULT_FILE = 'build.json';
/** Bumped when what is cached, or how it is keyed, changes. */
const FORMAT = 1;
/** A module tree larger than this is built every time: hashing it would cost what it saves. */
const MAX_TREE_BYTES = 64 << 20;
const MAX_TREE_FILES = 5000;

/** Files the build copies into its dir (kbuild.ts): build outputs in the user's tree are left out. */
export const isBuildOutput = (file: string): boolean => /\.(o|ko|mod|cmd)$/.test(file);

/** The module tree as the build sees it: each file's relative path, mode and content, digested; undefined when too large. */
export async function treeDigest(dir: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  let bytes = 0;
  let files = 0;
  const visit = async (rel: string): Promise<boolean> => {
    const names = (await readdir(path.join(dir, rel))).sort();
    for (const name of names) {
      const r = path.join(rel, name);
      const p = path.join(dir, r);
      if (isBuildOutput(p)) continue;
      const info = await lstat(p);
      if (info.isDirectory()) {
        hash.update(`d ${r}\0`);
        if (!(await visit(r))) return false;
      } else if (info.isSymbolicLink()) {
        hash.update(`l ${r} ${await readlink(p)}\0`);
      } else if (info.isFile()) {
        bytes += info.size;
        if (++files > MAX_TREE_FILES || bytes > MAX_TREE_BYTES) return false;
        hash.update(`f ${r} ${info.mode & 0o777}\0`);
        hash.update(await readFile(p));
        hash.update('\0');
      }
    }
    return true;
  };
  return (await visit('')) ? hash.digest('hex') : undefined;
}

/** What a file is for the cache: size, mtime and inode (a rewrite changes one), or 'absent'. */
async function identity(file: string): Promise<string> {
  const s = await stat(file).catch(() => undefined);
  return s ? `${s.size}:${s.mtimeMs}:${s.ino}` : 'absent';
}

/**
 * The files kbuild says a build read: the `deps_` and `source_` lines of a `.*.cmd` file.
 * `$(wildcard ...)` entries are Kconfig symbols, covered by the headers' .config. Pure.
 */
export function cmdDependencies(cmdText: string): string[] {
  const deps = new Set<string>();
  let inDeps = false;
  for (const raw of cmdText.split('\n')) {
    const line = raw.trim();
    if (/^deps_\S+ :=/.test(line)) {
      inDeps = true;
      continue;
    }
    const source = /^source_\S+ := (\S+)$/.exec(line);
    if (source) deps.add(source[1]!);
    if (!inDeps) continue;
    if (!line.endsWith('\\')) inDeps = false;
    const file = line.replace(/\\$/, '').trim();
    if (file && !file.startsWith('$(wildcard')) deps.add(file);
  }
  return [...deps];
}

/**
 * Every file the build in `buildDir` read outside it (the module's copy, which treeDigest
 * covers). kbuild names some relative to the dir it compiles in, the headers' (older kernels)
 * or the module's (newer): a relative name counts in both.
 */
async function buildDependencies(buildDir: string, headersDir: string): Promise<string[]> {
  const deps = new Set<string>();
  const inBuild = (f: string) => f === buildDir || f.startsWith(`${buildDir}${path.sep}`);
  const visit = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.name.startsWith('.') && e.name.endsWith('.cmd'))
        for (const d of cmdDependencies(await readFile(p, 'utf8')))
          for (const f of path.isAbsolute(d) ? [d] : [path.resolve(buildDir, d), path.resolve(headersDir, d)]) if (!inBuild(f)) deps.add(f);
    }
  };
  await visit(buildDir);
  return [...deps].sort();
}

interface CachedResult {
  format: number;
  /** Relative to the build dir, as are the files kept. */
  kos: string[];
  strippedKos: string[];
  names: string[];
  log: string;
  /** The build dir it was built in: the module's strings that prefix maps miss name it (UBSAN). */
  builtIn: string;
  crossCompile: string;
  /** The kernel headers it was built against: `cache prune` removes it with them. */
  headersDir: string;
  /** Each file the build read outside the module's copy, with its identity then. */
  deps: Array<[string, string]>;
}

export interface ModuleCacheKey {
  root: string;
  key: string;
}

/** The compilers a host build calls (CC=, HOSTCC=, the cross gcc), each with the identity of the binary PATH finds. */
export async function compilerIdentities(makeVars: readonly string[], crossCompile: string, envPath = process.env.PATH ?? ''): Promise<string[]> {
  const named = makeVars.flatMap((v) => /^(?:CC|HOSTCC)=(\S+)$/.exec(v)?.[1] ?? []);
  const names = [...new Set([...named, `${crossCompile}gcc`])];
  return Promise.all(
    names.map(async (name) => {
      if (path.isAbsolute(name)) return `${name}=${await identity(name)}`;
      for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
        const id = await identity(path.join(dir, name));
        if (id !== 'absent') return `${name}=${path.join(dir, name)}:${id}`;
      }
      return `${name}=absent`;
    }),
  );
}

/** The key of a module build, or undefined when the tree is too large to be worth caching. */
export async function moduleCacheKey(
  root: string,
  inputs: { sourceDir: string; headersDir: string; makeArgs: string[]; compiler: string[] },
): Promise<ModuleCacheKey | undefined> {
  const tree = await treeDigest(inputs.sourceDir);
  if (tree === undefined) return undefined;
  const headers = await Promise.all(['.config', 'Module.symvers', 'Makefile'].map((f) => identity(path.join(inputs.headersDir, f))));
  const digest = createHash('sha256')
    .update(JSON.stringify({ format: FORMAT, tree, ...inputs, sourceDir: path.resolve(inputs.sourceDir), headers }))
    .digest('hex')
    .slice(0, 24);
  return { root, key: `${path.basename(path.resolve(inputs.sourceDir)).replace(/[^A-Za-z0-9._+-]/g, '_')}-${digest}` };
}

/** The cached build for `k`, copied into `buildDir`, if there is one whose dependencies are all unchanged. */
export async function cachedModule(k: ModuleCacheKey, sourceDir: string, buildDir: string): Promise<BuiltModule | undefined> {
  const dir = path.join(k.root, BUILDS_AREA, k.key);
  let result: CachedResult;
  try {
    result = JSON.parse(await readFile(path.join(dir, RESULT_FILE), 'utf8')) as CachedResult;
  } catch {
    return undefined;
  }
  if (result.format !== FORMAT) return undefined;
  const now = await Promise.all(result.deps.map(([f]) => identity(f)));
  if (now.some((id, i) => id !== result.deps[i]![1])) return undefined;
  const files = [...new Set([...result.kos, ...result.strippedKos])];
  for (const f of files) {
    await mkdir(path.dirname(path.join(buildDir, f)), { recursive: true });
    await copyFile(path.join(dir, f), path.join(buildDir, f));
  }
  return {
    kos: result.kos.map((f) => path.join(buildDir, f)),
    strippedKos: result.strippedKos.map((f) => path.join(buildDir, f)),
    names: result.names,
    log: result.log,
    pathMap: { from: result.builtIn, to: path.resolve(sourceDir) },
    crossCompile: result.crossCompile,
  };
}

/**
 * Keep a build that succeeded. An entry whose dependencies changed since is replaced: it is
 * under a new key only when the module's own files changed, so the same key is refilled.
 */
export async function storeModule(k: ModuleCacheKey, built: BuiltModule, buildDir: string, headersDir: string): Promise<void> {
  const deps = await buildDependencies(buildDir, headersDir);
  const result: CachedResult = {
    format: FORMAT,
    kos: built.kos.map((f) => path.relative(buildDir, f)),
    strippedKos: built.strippedKos.map((f) => path.relative(buildDir, f)),
    names: built.names,
    log: built.log,
    builtIn: built.pathMap.from,
    crossCompile: built.crossCompile,
    headersDir,
    deps: await Promise.all(deps.map(async (f) => [f, await identity(f)] as [string, string])),
  };
  const fill = async (tmp: string) => {
    for (const f of [...new Set([...result.kos, ...result.strippedKos])]) {
      await mkdir(path.dirname(path.join(tmp, f)), { recursive: true });
      await copyFile(path.join(buildDir, f), path.join(tmp, f));
    }
    await writeFile(path.join(tmp, RESULT_FILE), JSON.stringify(result));
  };
  const entry = path.join(k.root, BUILDS_AREA, k.key);
  if (await stat(entry).catch(() => undefined)) await discardEntry(entry);
  await cachedDir(BUILDS_AREA, k.key, fill, k.root, { what: `the module build ${k.key}` });
  await evictOldBuilds(path.join(k.root, BUILDS_AREA));
}

/** Builds kept at most: each edit of a module makes a new one (each ~0.3-1 MB); the least recently written go first. */
export const MAX_BUILDS = 200;

async function evictOldBuilds(area: string): Promise<void> {
  const names = (await readdir(area).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  if (names.length <= MAX_BUILDS) return;
  const dated = await Promise.all(
    names.map(async (n) => ({ dir: path.join(area, n), ms: (await stat(path.join(area, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => a.ms - b.ms);
  for (const { dir } of dated.slice(0, dated.length - MAX_BUILDS)) await discardEntry(dir);
}

/** What `cache list` says of a build entry, and what prune needs: the headers it was built against. */
export async function readCachedBuild(dir: string): Promise<{ names: string[]; headersDir: string } | undefined> {
  try {
    const r = JSON.parse(await readFile(path.join(dir, RESULT_FILE), 'utf8')) as CachedResult;
    return r.format === FORMAT ? { names: r.names, headersDir: r.headersDir } : undefined;
  } catch {
    return undefined;
  }
}
