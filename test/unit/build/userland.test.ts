// buildTest puts <kmod-harness/ktest.h> on the include path of both kinds of test build (a
// single C file, a directory with a Makefile) without overriding the test's own headers:
// real builds with the host gcc and make.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTest, includeEnv } from '../../../harness/src/build/userland.js';
import { SEED_TEST_DIR, TEST_INCLUDE_DIR, VMALLOC_TEST_DIR } from '../../../harness/src/util/paths.js';

let dir: string;
let seq = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-userland-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const TAP_TEST = `#include <kmod-harness/ktest.h>

int main(void)
{
	ktest_set_plan(1);
	ktest_test_pass("built with %s", KTEST_WHO);
	ktest_finished();
}
`;

/** A fresh directory with these files in it. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = path.join(dir, `t${++seq}`);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return root;
}

async function buildAndRun(source: string): Promise<string> {
  const built = await buildTest({ source, buildDir: path.join(dir, `build${++seq}`) });
  return (await execa(built.binary)).stdout;
}

describe('buildTest include path', () => {
  it('gives a single C file the header with -I', async () => {
    const root = await tree({ 'mine_test.c': `#define KTEST_WHO "gcc"\n${TAP_TEST}` });
    expect(await buildAndRun(path.join(root, 'mine_test.c'))).toBe('1..1\nok 1 - built with gcc\n# Totals: pass:1 fail:0 skip:0');
  });

  it('gives a Makefile that knows nothing of it the header through C_INCLUDE_PATH', async () => {
    const root = await tree({
      Makefile: 'O ?= .\nOUT ?= $(O)/t\n$(OUT): t.c\n\tgcc -static -Wall -Wextra -Werror -o $@ $<\n',
      't.c': `#define KTEST_WHO "make"\n${TAP_TEST}`,
    });
    expect(await buildAndRun(root)).toContain('ok 1 - built with make');
  });

  it('names the directory in KMOD_HARNESS_INCLUDE for a Makefile that passes it itself', async () => {
    // Without C_INCLUDE_PATH the variable alone must find the header.
    const root = await tree({
      Makefile: 'O ?= .\nOUT ?= $(O)/t\n$(OUT): t.c\n\tenv -u C_INCLUDE_PATH gcc -static -I$(KMOD_HARNESS_INCLUDE) -o $@ $<\n',
      't.c': `#define KTEST_WHO "KMOD_HARNESS_INCLUDE"\n${TAP_TEST}`,
    });
    expect(await buildAndRun(root)).toContain('ok 1 - built with KMOD_HARNESS_INCLUDE');
  });

  it("lets a test's own -I directory win over the harness's header", async () => {
    const root = await tree({
      Makefile: 'O ?= .\nOUT ?= $(O)/t\n$(OUT): t.c\n\tgcc -static -Iinclude -o $@ $<\n',
      'include/kmod-harness/ktest.h': '#include <stdio.h>\n#define OWN_KTEST "own"\n',
      't.c': '#include <kmod-harness/ktest.h>\nint main(void) { puts(OWN_KTEST); return 0; }\n',
    });
    expect(await buildAndRun(root)).toBe('own');
  });

  it("builds the seed test from a copy, where its Makefile's path into the checkout is gone", async () => {
    const built = await buildTest({ source: SEED_TEST_DIR, buildDir: path.join(dir, 'seed') });
    expect(built.log).not.toMatch(/warning|error/i);
    const { exitCode, stdout } = await execa(built.binary, ['/nonexistent'], { reject: false });
    expect(exitCode).toBe(1);
    expect(stdout).toMatch(/^TAP version 13\n1\.\.14\n/);
  });

  it("builds the vmalloc test from a copy, where its Makefile's path into the checkout is gone", async () => {
    const built = await buildTest({ source: VMALLOC_TEST_DIR, buildDir: path.join(dir, 'vmalloc') });
    expect(built.log).not.toMatch(/warning|error/i);
    const { exitCode, stdout } = await execa(built.binary, ['/nonexistent'], { reject: false });
    expect(exitCode).toBe(1);
    expect(stdout).toMatch(/^TAP version 13\n1\.\.30\n/);
  });
});

describe('includeEnv', () => {
  it('adds the header directory after an inherited C_INCLUDE_PATH', () => {
    expect(includeEnv({})).toEqual({ C_INCLUDE_PATH: TEST_INCLUDE_DIR, KMOD_HARNESS_INCLUDE: TEST_INCLUDE_DIR });
    expect(includeEnv({ C_INCLUDE_PATH: '/opt/inc' }).C_INCLUDE_PATH).toBe(`/opt/inc${path.delimiter}${TEST_INCLUDE_DIR}`);
  });
});
