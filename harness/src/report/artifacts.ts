// The --artifacts directory, for CI to upload: per kernel a <release>/ with its logs (as the run
// kept them: within the output limit) and its result (log excerpts, as in results.json), and the
// whole run's results.json (and junit.xml) at the top. Planned as pure data,
// then written file by file, each whole before it is renamed into place.
import path from 'node:path';
import { writeFileAtomic } from '../util/files.js';
import type { KernelResult } from '../run.js';
import { jsonReport } from './json.js';
import { junitReport } from './junit.js';
import { withLogExcerpts } from './logs.js';

/** Each log's file name in a kernel's directory; a log the run did not produce is not written. */
export const LOG_FILES = { console: 'console.log', dmesg: 'dmesg.txt', test: 'test-output.txt', build: 'build.log', kmemleak: 'kmemleak.txt' } as const;

export const RESULTS_FILE = 'results.json';
export const JUNIT_FILE = 'junit.xml';

export interface PlannedFile {
  /** Relative to the artifacts directory, `/`-separated. */
  path: string;
  content: string;
}

/**
 * One directory name per result: the release with anything but `[A-Za-z0-9._+-]` as `_` (an
 * unresolved kernel is named by its spec, e.g. `buildroot:/path`), never `.`/`..` or a
 * top-level file's name, and made unique with `-2`, `-3`, ... when a kernel repeats.
 */
export function kernelDirs(results: KernelResult[]): string[] {
  const taken = new Set([RESULTS_FILE, JUNIT_FILE]);
  return results.map((r) => {
    let base = r.kernel.replace(/[^A-Za-z0-9._+-]/g, '_');
    if (/^\.*$/.test(base)) base = `_${base}`;
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    return name;
  });
}

/** Every file of the artifacts directory and its content. result.json is the result as in results.json (log excerpts). */
export function planArtifacts(results: KernelResult[], options: { junit?: boolean } = {}): PlannedFile[] {
  const dirs = kernelDirs(results);
  const files: PlannedFile[] = results.flatMap((r, i) => [
    ...Object.entries(LOG_FILES).flatMap(([log, name]) => {
      const content = r.logs[log as keyof typeof LOG_FILES];
      return content === undefined ? [] : [{ path: `${dirs[i]}/${name}`, content }];
    }),
    { path: `${dirs[i]}/result.json`, content: `${JSON.stringify(withLogExcerpts(r), null, 2)}\n` },
  ]);
  files.push({ path: RESULTS_FILE, content: jsonReport(results) });
  if (options.junit) files.push({ path: JUNIT_FILE, content: junitReport(results) });
  return files;
}

/**
 * Write the planned files under `dir` (made if missing; files of an earlier run that this one
 * does not plan are left alone). Returns the paths written.
 */
export async function writeArtifacts(dir: string, results: KernelResult[], options: { junit?: boolean } = {}): Promise<string[]> {
  const written: string[] = [];
  for (const file of planArtifacts(results, options)) {
    const target = path.join(dir, ...file.path.split('/'));
    await writeFileAtomic(target, file.content);
    written.push(target);
  }
  return written;
}
