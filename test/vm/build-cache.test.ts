// The module build cache with real kbuild, on the run's first kernel (no VM is booted): an
// unchanged module is not built again, and a change of anything the build read, a header
// outside the module's directory included, builds it again. A stale .ko here would be a false
// pass of a module the user has changed.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModule } from '../../harness/src/build/kbuild.js';
import { acquireKernel } from '../../harness/src/kernel-build/index.js';
import type { KernelArtifacts } from '../../harness/src/kernel-artifacts.js';
import { prepareToolchain } from '../../harness/src/toolchain/index.js';
import type { Toolchain } from '../../harness/src/toolchain/run.js';
import { firstKernel } from './support.js';

let dir: string;
let kernel: KernelArtifacts;
let toolchain: Toolchain;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmh-build-cache-'));
  kernel = await acquireKernel(firstKernel());
  toolchain = await prepareToolchain(kernel);
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const source = (inc: string) => ({
  Kbuild: `obj-m := kmh_cached.o\nccflags-y := -I${inc}\n`,
  'kmh_cached.c': `// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include "kmh_shared.h"

static int __init kmh_cached_init(void)
{
	pr_info("kmh_cached: " KMH_WORD "\\n");
	return 0;
}
module_init(kmh_cached_init);

static void __exit kmh_cached_exit(void)
{
}
module_exit(kmh_cached_exit);
MODULE_LICENSE("GPL");
`,
});

let builds = 0;
async function build(moduleDir: string, cacheRoot: string) {
  const start = performance.now();
  const built = await buildModule({ sourceDir: moduleDir, buildDir: path.join(dir, `build-${++builds}`), headersDir: kernel.headersDir, toolchain, cacheRoot });
  return { built, ms: performance.now() - start, ko: await readFile(built.kos[0]!) };
}

describe(`the module build cache on ${firstKernel()}`, () => {
  it('an unchanged module comes from the cache; a changed header outside its dir, or its source, builds it again', async () => {
    const moduleDir = path.join(dir, 'module');
    const inc = path.join(dir, 'include');
    const cacheRoot = path.join(dir, 'cache');
    await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(moduleDir), fs.mkdir(inc)]));
    for (const [name, text] of Object.entries(source(inc))) await writeFile(path.join(moduleDir, name), text);
    await writeFile(path.join(inc, 'kmh_shared.h'), '#define KMH_WORD "kmh_word_alpha"\n');

    const first = await build(moduleDir, cacheRoot);
    expect(first.ko.includes('kmh_word_alpha')).toBe(true);
    const again = await build(moduleDir, cacheRoot);
    expect(again.ko.equals(first.ko)).toBe(true);
    expect(again.built.names).toEqual(['kmh_cached']);
    // Copied into this build's own dir, with the stripped copy beside it.
    expect(again.built.kos[0]!.startsWith(path.join(dir, 'build-2'))).toBe(true);
    expect((await readFile(again.built.strippedKos[0]!)).length).toBeGreaterThan(0);
    expect(again.ms / first.ms, `cached ${again.ms} ms, built ${first.ms} ms`).toBeLessThan(0.3);

    // Same module files, same key: only kbuild's dependency list knows about this header.
    await writeFile(path.join(inc, 'kmh_shared.h'), '#define KMH_WORD "kmh_word_bravo"\n');
    const header = await build(moduleDir, cacheRoot);
    expect(header.ko.includes('kmh_word_bravo')).toBe(true);
    expect(header.ko.includes('kmh_word_alpha')).toBe(false);
    expect((await build(moduleDir, cacheRoot)).ko.equals(header.ko)).toBe(true);

    await writeFile(path.join(moduleDir, 'kmh_cached.c'), source(inc)['kmh_cached.c'].replace('kmh_cached: ', 'kmh_cached changed: '));
    const changed = await build(moduleDir, cacheRoot);
    expect(changed.ko.includes('kmh_cached changed: ')).toBe(true);
  }, 300_000);
});
