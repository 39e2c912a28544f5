import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTempSibling, privateDir, tempSibling, writeFileAtomic } from '../../../harness/src/util/files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-files-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tempSibling', () => {
  it('is a fresh name beside the file each time, in the .tmp-<digits> form the cache listing knows', () => {
    const names = new Set(Array.from({ length: 1000 }, () => tempSibling('/c/accel-probe.json')));
    expect(names.size).toBe(1000);
    for (const n of names) expect(n).toMatch(/^\/c\/accel-probe\.json\.tmp-\d+$/);
  });

  it('isTempSibling knows its names, and no others', () => {
    expect(isTempSibling(path.basename(tempSibling('/c/accel-probe.json')))).toBe(true);
    for (const name of ['accel-probe.json', '.tmp-6.1_6.1.192-2-AbC123', 'notes.tmp-', 'a.tmp-12x']) expect(isTempSibling(name), name).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it('many writers of one file at once in one process: each write is whole, one wins, no temp left', async () => {
    const file = path.join(dir, 'sub/report.json');
    const bodies = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(50_000)}\n`);
    await Promise.all(bodies.map((b) => writeFileAtomic(file, b)));
    expect(bodies).toContain(await readFile(file, 'utf8'));
    expect(await readdir(path.dirname(file))).toEqual(['report.json']);
  });

  it('writes with the mode asked for', async () => {
    const file = path.join(dir, 'secret');
    await writeFileAtomic(file, 'k', { mode: 0o600 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('replaces the file, never writes through a link at its place', async () => {
    const target = path.join(dir, 'elsewhere');
    await writeFile(target, 'theirs');
    const file = path.join(dir, 'memo.json');
    await symlink(target, file);
    await writeFileAtomic(file, 'ours');
    expect(await readFile(target, 'utf8')).toBe('theirs');
    expect(await readFile(file, 'utf8')).toBe('ours');
  });
});

describe('privateDir', () => {
  it('makes the dir 0700, also one that was there with another mode, and leaves its parents alone', async () => {
    const area = path.join(dir, 'cache/images');
    await privateDir(area);
    expect((await stat(area)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, 'cache'))).mode & 0o777).not.toBe(0o700);
    const old = path.join(dir, 'old');
    await mkdir(old, { mode: 0o755 });
    await privateDir(old);
    expect((await stat(old)).mode & 0o777).toBe(0o700);
  });
});
