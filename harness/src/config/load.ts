// Finding and loading kmod-harness.config.ts: from the working directory up to the project
// root (never above $HOME), loaded with jiti so a TypeScript config needs no build step. A
// config is code the harness runs: one another user could have written is refused.
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { createJiti } from 'jiti';
import { octalMode } from '../util/format.js';
import type { KmodHarnessConfig } from './define.js';
import { ConfigError, validateConfig } from './schema.js';

export const CONFIG_NAMES = ['kmod-harness.config.ts', 'kmod-harness.config.mts', 'kmod-harness.config.js', 'kmod-harness.config.mjs'];

export interface LoadedConfig {
  file: string;
  /** Relative paths in the config are relative to this directory. */
  dir: string;
  config: KmodHarnessConfig;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** A directory that ends the search: a repository's or package's root. */
async function isProjectRoot(dir: string): Promise<boolean> {
  return (await exists(path.join(dir, 'package.json'))) || (await exists(path.join(dir, '.git')));
}

const within = (dir: string, top: string) => dir === top || dir.startsWith(`${top}${path.sep}`);

/**
 * The highest directory the search from `start` may look in:
 * - the first directory from `start` up that is a project root (package.json or .git), so that
 *   a config of an enclosing project is never picked up by accident;
 * - under $HOME, $HOME itself if no project root comes first: nothing above it is the user's;
 * - outside $HOME with no project root above, `start` alone: its parents are shared places
 *   (/tmp, /) where any user could have left a kmod-harness.config.ts for the harness to run.
 * A $HOME of / counts as none (the search would otherwise reach / again).
 */
export async function searchTop(start: string, home: string | undefined): Promise<string> {
  const from = path.resolve(start);
  const top = home && path.resolve(home) !== path.parse(path.resolve(home)).root ? path.resolve(home) : undefined;
  const underHome = top !== undefined && within(from, top);
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (await isProjectRoot(dir)) return dir;
    if (underHome && dir === top) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

/**
 * The config file for `startDir`: the first of CONFIG_NAMES in it or a parent, up to and
 * including searchTop's directory. `home` is for tests; it defaults to the user's home.
 */
export async function findConfigFile(startDir: string, home: string | undefined = homedir()): Promise<string | undefined> {
  const top = await searchTop(startDir, home);
  for (let dir = path.resolve(startDir); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      if (await exists(path.join(dir, name))) return path.join(dir, name);
    }
    if (dir === top || path.dirname(dir) === dir) return undefined;
  }
}

/** The file's owner and mode, as checkConfigOwnership judges them. */
export interface FileOwnership {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Why the harness must not run `file` as the user `uid`, or undefined when it may: the file must
 * be the user's own (or root's), and no one else may be able to write it. Group write is allowed
 * only on a user-private group (gid equal to the owner's uid, as Debian's useradd makes them):
 * their umask of 002 leaves every new file group-writable, and no one else is in that group.
 */
export function configOwnershipProblem(file: string, info: FileOwnership, uid: number): { problem: string; fix: string } | undefined {
  if (info.uid !== uid && info.uid !== 0) {
    return {
      problem: `${file} belongs to uid ${info.uid}, not to you (uid ${uid}) or root`,
      fix: `a config is code the harness runs: if you trust it, copy it to a file of your own and pass that with --config; else remove it`,
    };
  }
  const otherWrite = (info.mode & 0o002) !== 0;
  const groupWrite = (info.mode & 0o020) !== 0 && info.gid !== info.uid;
  if (otherWrite || groupWrite) {
    return {
      problem: `${file} is writable by ${otherWrite ? 'others' : `group ${info.gid}`} (mode ${octalMode(info.mode)})`,
      fix: `a config is code the harness runs: chmod go-w ${file}`,
    };
  }
  return undefined;
}

/** Refuse a config another user could have written (see configOwnershipProblem). */
async function checkConfigOwnership(file: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === undefined) return; // no uids (Windows): nothing to compare
  const info = await stat(file);
  const found = configOwnershipProblem(file, info, uid);
  if (found) throw new ConfigError(`refusing to load ${found.problem}`, { fix: found.fix });
}

/** Load and check a config file; its default export may be the config or a promise of it. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  if (!(await exists(absolute))) {
    throw new ConfigError(`config file ${absolute} does not exist`, { fix: `create it (export default defineConfig({ ... })) or drop --config` });
  }
  await checkConfigOwnership(absolute);
  let value: unknown;
  try {
    // No module cache: a long-lived process (vitest --watch) sees edits.
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    value = await jiti.import(absolute, { default: true });
  } catch (error) {
    // jiti's parse errors put the file:line:column on a second line: keep both.
    const reason = (error instanceof Error ? error.message : String(error))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(0, 3)
      .join(' ');
    const fix = /Cannot find (?:module|package) 'kmod-harness'/.test(reason)
      ? `install kmod-harness in the project of ${absolute} (npm install --save-dev kmod-harness), or drop the import: a plain object works too`
      : 'fix the error in the config file (it is TypeScript/JavaScript, run by jiti)';
    throw new ConfigError(`${absolute} could not be loaded: ${reason}`, { fix, cause: error });
  }
  return { file: absolute, dir: path.dirname(absolute), config: validateConfig(value, absolute) };
}

/** The explicit file if given, else the one found from `cwd`, else none (an empty config). */
export async function loadConfig(options: { cwd?: string; file?: string } = {}): Promise<LoadedConfig | undefined> {
  if (options.file) return loadConfigFile(options.file);
  const found = await findConfigFile(options.cwd ?? process.cwd());
  return found ? loadConfigFile(found) : undefined;
}
