// Finding and loading kmod-harness.config.ts: from the working directory up to the project
// root, loaded with jiti so a TypeScript config needs no build step.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { createJiti } from 'jiti';
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

/**
 * The config file for `startDir`: the first of CONFIG_NAMES in it or a parent, stopping at the
 * project root (the first directory with a package.json or .git) so that a config of an
 * enclosing project is never picked up by accident.
 */
export async function findConfigFile(startDir: string): Promise<string | undefined> {
  for (let dir = path.resolve(startDir); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      if (await exists(path.join(dir, name))) return path.join(dir, name);
    }
    const isRoot = (await exists(path.join(dir, 'package.json'))) || (await exists(path.join(dir, '.git')));
    if (isRoot || path.dirname(dir) === dir) return undefined;
  }
}

/** Load and check a config file; its default export may be the config or a promise of it. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  if (!(await exists(absolute))) {
    throw new ConfigError(`config file ${absolute} does not exist`, { fix: `create it (export default defineConfig({ ... })) or drop --config` });
  }
  let value: unknown;
  try {
    // No module cache: a long-lived process (vitest --watch) sees edits.
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    value = await jiti.import(absolute, { default: true });
  } catch (error) {
    // jiti's parse errors put the file:line:column on a second line: keep both.
    const reason = (error instanceof Error ? error.message : String(error)).split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' ');
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
