import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cachedDir, cacheRoot, sweepStale } from '../../harness/src/cache.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kmh-cache-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const tmpLeft = async (area: string): Promise<string[]> => (await readdir(path.join(root, area))).filter((n) => n.startsWith('.tmp-'));

describe('cachedDir', () => {
  it('fills a private .tmp directory and publishes it under the key', async () => {
    const fill = vi.fn(async (dir: string) => {
      expect(path.dirname(dir)).toBe(path.join(root, 'images'));
      expect(path.basename(dir)).toMatch(/^\.tmp-abc-/);
      await writeFile(path.join(dir, 'initrd'), 'cpio');
    });
    const entry = await cachedDir('images', 'abc', fill, root);
    expect(entry).toEqual({ dir: path.join(root, 'images', 'abc'), hit: false });
    expect(await readFile(path.join(entry.dir, 'initrd'), 'utf8')).toBe('cpio');
    expect(await readdir(path.join(root, 'images'))).toEqual(['abc']);
  });

  it('is a hit the second time, without calling fill', async () => {
    await cachedDir('images', 'abc', (dir) => writeFile(path.join(dir, 'f'), '1'), root);
    const fill = vi.fn(async () => {});
    expect(await cachedDir('images', 'abc', fill, root)).toEqual({ dir: path.join(root, 'images', 'abc'), hit: true });
    expect(fill).not.toHaveBeenCalled();
  });

  it('leaves neither an entry nor a .tmp directory when fill throws, and retries next time', async () => {
    const boom = new Error('download failed');
    await expect(
      cachedDir('kernels', '6.1', async (dir) => {
        await writeFile(path.join(dir, 'half'), 'x');
        throw boom;
      }, root),
    ).rejects.toBe(boom);
    expect(await readdir(path.join(root, 'kernels'))).toEqual([]);
    const fill = vi.fn(async (dir: string) => writeFile(path.join(dir, 'whole'), 'y'));
    expect((await cachedDir('kernels', '6.1', fill, root)).hit).toBe(false);
    expect(fill).toHaveBeenCalledOnce();
  });

  it('lets concurrent fillers of one key both succeed with one complete entry', async () => {
    // Both fills are running before either publishes, so the second rename loses the race.
    let started = 0;
    let release!: () => void;
    const bothStarted = new Promise<void>((r) => (release = r));
    const fill = (id: string) => async (dir: string) => {
      await writeFile(path.join(dir, 'a'), id);
      if (++started === 2) release();
      await bothStarted;
      await writeFile(path.join(dir, 'b'), id);
    };
    const [one, two] = await Promise.all([cachedDir('images', 'k', fill('one'), root), cachedDir('images', 'k', fill('two'), root)]);
    expect(one.dir).toBe(path.join(root, 'images', 'k'));
    expect(two.dir).toBe(one.dir);
    const a = await readFile(path.join(one.dir, 'a'), 'utf8');
    expect(['one', 'two']).toContain(a);
    expect(await readFile(path.join(one.dir, 'b'), 'utf8')).toBe(a);
    expect(await tmpLeft('images')).toEqual([]);
  });
});

describe('sweepStale', () => {
  it('removes only .tmp directories older than the limit', async () => {
    const area = path.join(root, 'images');
    for (const name of ['.tmp-old-1', '.tmp-new-1', 'old-entry']) await mkdir(path.join(area, name), { recursive: true });
    const hourAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(path.join(area, '.tmp-old-1'), hourAgo, hourAgo);
    await utimes(path.join(area, 'old-entry'), hourAgo, hourAgo);
    await sweepStale('images', 3_600_000, root);
    expect((await readdir(area)).sort()).toEqual(['.tmp-new-1', 'old-entry']);
    await expect(sweepStale('no-such-area', 0, root)).resolves.toBeUndefined();
  });
});

describe('cacheRoot', () => {
  it('prefers KMOD_HARNESS_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(cacheRoot({ KMOD_HARNESS_CACHE: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(cacheRoot({ XDG_CACHE_HOME: '/x' })).toBe('/x/kmod-harness');
    expect(cacheRoot({})).toMatch(/\/\.cache\/kmod-harness$/);
  });
});

describe('cachedDir on a full disk', () => {
  it('names the cache dir and the fix, and leaves no temporary dir', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'kmod-harness-cache-full-'));
    try {
      const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      await expect(cachedDir('kernels', 'k', async () => Promise.reject(full), root)).rejects.toThrow(/no space left on the device of the cache dir/);
      expect(await readdir(path.join(root, 'kernels'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
