// Two `kmod-harness run`s started together on one new, empty cache (KMOD_HARNESS_CACHE): both
// pass. Before the cache locks the second ended at once in infra-error ("cannot read the package
// index of bookworm": apt's lock fails instead of waiting); now it waits for the first run's apt
// update and kernel download and takes its entry, so the kernel is downloaded once. Afterwards
// no QEMU and no temporary dir of a fill are left. Needs the Debian mirror.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from '../../harness/src/cache/store.js';
import { PACKAGE_ROOT } from '../../harness/src/util/paths.js';
import { childEnv, firstKernel, qemuCount } from './support.js';

const CLI = path.join(PACKAGE_ROOT, 'dist/cli.js');
const kernel = firstKernel();

/** `.tmp-*` dirs in the cache's areas (and its top). */
async function temps(cache: string): Promise<string[]> {
  const found: string[] = [];
  for (const area of await readdir(cache, { withFileTypes: true })) {
    if (area.name.startsWith(TEMP_PREFIX)) found.push(area.name);
    if (!area.isDirectory()) continue;
    for (const name of await readdir(path.join(cache, area.name))) if (name.startsWith(TEMP_PREFIX)) found.push(`${area.name}/${name}`);
  }
  return found;
}

describe(`two runs on one cold cache on ${kernel}`, () => {
  it('both pass, the kernel is downloaded once, nothing is left behind', async () => {
    const before = await qemuCount();
    const cache = await mkdtemp(path.join(tmpdir(), 'kmod-harness-shared-cache-'));
    const reports = await mkdtemp(path.join(tmpdir(), 'kmod-harness-shared-reports-'));
    try {
      const env = childEnv({ KMOD_HARNESS_CACHE: cache });
      const run = (n: number) =>
        execa('node', [CLI, 'run', '--kernel', kernel, '--plain', '--json', path.join(reports, `${n}.json`)], {
          cwd: PACKAGE_ROOT,
          env,
          extendEnv: false,
          reject: false,
          all: true,
        });
      const results = await Promise.all([run(1), run(2)]);
      for (const [i, r] of results.entries()) {
        expect(r.exitCode, r.all).toBe(0);
        const json = JSON.parse(await readFile(path.join(reports, `${i + 1}.json`), 'utf8')) as { results: Array<{ outcome: string }> };
        expect(
          json.results.map((x) => x.outcome),
          r.all,
        ).toEqual(['pass']);
      }
      // One run downloaded the kernel; the other waited for it and found it in the cache.
      const downloads = results.filter((r) => /\] downloading \S+ \(.*\) from /.test(r.all ?? ''));
      expect(downloads, results.map((r) => r.all).join('\n---\n')).toHaveLength(1);
      expect(results.filter((r) => /\] cached: /.test(r.all ?? ''))).toHaveLength(1);
      // A run that waited said whom for (an apt update or download, or the kernel's fill); both
      // may have, each for the other's update of one of the suites.
      expect(results.some((r) => /\] waiting for .+ \(held by pid \d+\)$/m.test(r.all ?? ''))).toBe(true);
      expect(await qemuCount()).toBe(before);
      expect(await temps(cache)).toEqual([]);
    } finally {
      await rm(cache, { recursive: true, force: true });
      await rm(reports, { recursive: true, force: true });
    }
    await expect(stat(cache)).rejects.toThrow(/ENOENT/);
  }, 1_800_000);
});
