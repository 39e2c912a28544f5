import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findOnPath, findTool } from '../../../harness/src/host/tools.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-tools-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function executable(p: string, mode = 0o755): Promise<string> {
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, '#!/bin/sh\n');
  await chmod(p, mode);
  return p;
}

describe('findOnPath', () => {
  it('finds the first executable of that name in the dirs of PATH, in order', async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await executable(path.join(a, 'x86_64-linux-gnu-gcc-14'), 0o644);
    const found = await executable(path.join(b, 'x86_64-linux-gnu-gcc-14'));
    await executable(path.join(a, 'gcc-12'));
    const env = { PATH: [a, b].join(path.delimiter) };
    expect(await findOnPath('x86_64-linux-gnu-gcc-14', env)).toBe(found);
    expect(await findOnPath('gcc-12', env)).toBe(path.join(a, 'gcc-12'));
    expect(await findOnPath('gcc-99', env)).toBeUndefined();
  });

  it('looks in the extra dirs only after PATH, and in no dir of an empty PATH', async () => {
    const extra = await executable(path.join(dir, 'sbin', 'depmod'));
    expect(await findOnPath('depmod', { PATH: '' })).toBeUndefined();
    expect(await findOnPath('depmod', { PATH: '' }, [path.join(dir, 'sbin')])).toBe(extra);
    const first = await executable(path.join(dir, 'bin', 'depmod'));
    expect(await findOnPath('depmod', { PATH: path.join(dir, 'bin') }, [path.join(dir, 'sbin')])).toBe(first);
  });
});

describe('findTool', () => {
  it('walks PATH as findOnPath does', async () => {
    const zstd = await executable(path.join(dir, 'bin', 'zstd'));
    expect(await findTool('zstd', { PATH: path.join(dir, 'bin') })).toBe(zstd);
  });
});
