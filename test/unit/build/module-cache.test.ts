// The keys of the module build cache: the module tree's digest, kbuild's dependency lists (on
// a .cmd file captured from a real build of the seed on 6.1, kept as .txt: .gitignore has *.cmd), the compilers' identities.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmdDependencies, compilerIdentities, isBuildOutput, treeDigest } from '../../../harness/src/build/module-cache.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmh-build-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cmdDependencies', () => {
  it("lists the source and every header of a real .cmd, and leaves out Kconfig's $(wildcard ...)", async () => {
    const text = await readFile(path.resolve(import.meta.dirname, '../../fixtures/kbuild/lkmc_mmap.o.cmd.txt'), 'utf8');
    const deps = cmdDependencies(text);
    expect(deps[0]).toBe('/tmp/kb/lkmc_mmap.c');
    expect(deps).toContain('/tmp/kb/compat.h');
    expect(deps).toContain('/root/.cache/kmod-harness/kernels/6.1_6.1.192-3/root/usr/src/linux-headers-6.1.0-57-common/include/linux/kconfig.h');
    expect(deps.some((d) => d.includes('wildcard') || d.includes('include/config/'))).toBe(false);
    expect(deps.length).toBeGreaterThan(300);
    expect(new Set(deps).size).toBe(deps.length);
  });

  it('reads relative names too (newer kbuild compiles inside M=)', () => {
    expect(
      cmdDependencies('source_x.o := x.c\n\ndeps_x.o := \\\n  ../inc/y.h \\\n    $(wildcard include/config/A) \\\n  z.h \\\n\nx.o: $(deps_x.o)\n'),
    ).toEqual(['x.c', '../inc/y.h', 'z.h']);
  });
});

describe('treeDigest', () => {
  it("changes with a file's content, mode, name or a new file, not with build outputs", async () => {
    const m = path.join(dir, 'mod');
    await mkdir(path.join(m, 'sub'), { recursive: true });
    await writeFile(path.join(m, 'Kbuild'), 'obj-m := a.o\n');
    await writeFile(path.join(m, 'sub', 'a.c'), 'int x;\n');
    const first = await treeDigest(m);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(path.join(m, 'a.o'), 'junk');
    await writeFile(path.join(m, '.a.o.cmd'), 'junk');
    expect(await treeDigest(m)).toBe(first);
    await writeFile(path.join(m, 'sub', 'a.c'), 'int y;\n');
    const changed = await treeDigest(m);
    expect(changed).not.toBe(first);
    await chmod(path.join(m, 'sub', 'a.c'), 0o755);
    const moded = await treeDigest(m);
    expect(moded).not.toBe(changed);
    await writeFile(path.join(m, 'b.h'), '');
    expect(await treeDigest(m)).not.toBe(moded);
    expect(isBuildOutput('x/y.ko')).toBe(true);
    expect(isBuildOutput('x/y.c')).toBe(false);
  });
});

describe('compilerIdentities', () => {
  it('names each compiler make calls with the binary PATH finds, and says when there is none', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'gcc-12'), '');
    const ids = await compilerIdentities(['CC=gcc-12', 'HOSTCC=gcc-12'], '', bin);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(new RegExp(`^gcc-12=${bin}/gcc-12:0:`));
    expect(ids[1]).toBe('gcc=absent');
    await writeFile(path.join(bin, 'gcc-12'), 'newer');
    expect((await compilerIdentities(['CC=gcc-12'], '', bin))[0]).not.toBe(ids[0]);
  });
});
