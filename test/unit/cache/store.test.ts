import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cachedDir, cacheRoot, entryLockFile, fillKeyOf, sweepStale } from '../../../harness/src/cache/store.js';
import { acquireLock } from '../../../harness/src/cache/lock.js';

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
    // The entry, and the lock its fill held (a dot-name no reader takes for an entry).
    expect((await readdir(path.join(root, 'images'))).sort()).toEqual(['.lock-abc', 'abc']);
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
      cachedDir(
        'kernels',
        '6.1',
        async (dir) => {
          await writeFile(path.join(dir, 'half'), 'x');
          throw boom;
        },
        root,
      ),
    ).rejects.toBe(boom);
    expect(await readdir(path.join(root, 'kernels'))).toEqual(['.lock-6.1']);
    const fill = vi.fn(async (dir: string) => writeFile(path.join(dir, 'whole'), 'y'));
    expect((await cachedDir('kernels', '6.1', fill, root)).hit).toBe(false);
    expect(fill).toHaveBeenCalledOnce();
  });

  it('fills once for concurrent callers: the second waits for the first and gets its entry as a hit', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = vi.fn(async (dir: string) => {
      await writeFile(path.join(dir, 'a'), 'one');
      await gate;
    });
    const second = vi.fn(async (dir: string) => writeFile(path.join(dir, 'a'), 'two'));
    const one = cachedDir('images', 'k', first, root);
    await vi.waitFor(() => expect(first).toHaveBeenCalled());
    const two = cachedDir('images', 'k', second, root);
    await new Promise((r) => setTimeout(r, 300));
    release();
    expect(await one).toEqual({ dir: path.join(root, 'images', 'k'), hit: false });
    expect(await two).toEqual({ dir: path.join(root, 'images', 'k'), hit: true });
    expect(second).not.toHaveBeenCalled();
    expect(await readFile(path.join(root, 'images', 'k', 'a'), 'utf8')).toBe('one');
    expect(await tmpLeft('images')).toEqual([]);
  });

  it('waits for a fill in another process, then takes its entry instead of filling again', async () => {
    const repo = path.resolve(import.meta.dirname, '../../..');
    const script = `
      const m = await import(${JSON.stringify(path.join(repo, 'harness/src/cache/store.ts'))});
      const { cachedDir } = m.default ?? m;
      const { writeFile } = await import('node:fs/promises');
      await cachedDir('kernels', '6.1_1', async (dir) => {
        console.log('filling');
        await new Promise((r) => setTimeout(r, 3000));
        await writeFile(dir + '/kernel.json', 'theirs');
      }, ${JSON.stringify(root)});
    `;
    const child = execa('node', ['--import', 'jiti/register', '--input-type=module', '-e', script], { cwd: repo, all: true });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('filling') && resolve());
        child.then(() => reject(new Error('the child ended before it filled')), reject);
      });
      const fill = vi.fn(async (dir: string) => writeFile(path.join(dir, 'kernel.json'), 'ours'));
      const events: unknown[] = [];
      const entry = await cachedDir('kernels', '6.1_1', fill, root, { what: 'the 6.1 kernel 1', emit: (e) => events.push(e) });
      expect(entry.hit).toBe(true);
      expect(fill).not.toHaveBeenCalled();
      expect(await readFile(path.join(entry.dir, 'kernel.json'), 'utf8')).toBe('theirs');
      // A wait of more than two seconds says what it waits for, and whom.
      expect(events).toEqual([{ type: 'info', message: `waiting for the 6.1 kernel 1 (held by pid ${child.pid})` }]);
      await child;
    } finally {
      child.kill('SIGKILL');
      await child.catch(() => {});
    }
  }, 30_000);
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

  it('asks the lock of a fill: removes a fresh temp dir of a run that ended, keeps an old one of a live fill', async () => {
    const area = path.join(root, 'kernels');
    const ended = path.join(area, '.tmp-6.1_1-AbC123');
    const live = path.join(area, '.tmp-6.1_2-xYz789');
    for (const p of [ended, live]) await mkdir(p, { recursive: true });
    const dayAgo = new Date(Date.now() - 24 * 3_600_000);
    await utimes(live, dayAgo, dayAgo);
    // The first fill's run is gone (its lock file is there, free); the second's holds its lock.
    await (await acquireLock(entryLockFile(root, 'kernels', '6.1_1'), { what: 'x' })).release();
    const held = await acquireLock(entryLockFile(root, 'kernels', '6.1_2'), { what: 'x' });
    try {
      await sweepStale('kernels', 3_600_000, root);
      expect((await readdir(area)).filter((n) => n.startsWith('.tmp-'))).toEqual(['.tmp-6.1_2-xYz789']);
    } finally {
      await held.release();
    }
    await sweepStale('kernels', 3_600_000, root);
    expect((await readdir(area)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('reads the key of a fill from its temp dir name, none from an entry being removed', () => {
    expect(fillKeyOf('.tmp-6.1_6.1.170-1-AbC123')).toBe('6.1_6.1.170-1');
    expect(fillKeyOf('.tmp-trixie-gcc-14-old-0a1b2c3d4e5f')).toBeUndefined();
    expect(fillKeyOf('.tmp-prune-6.1_6.1.170-1-AbC123')).toBeUndefined();
    expect(fillKeyOf('6.1_6.1.170-1')).toBeUndefined();
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
      expect(await readdir(path.join(root, 'kernels'))).toEqual(['.lock-k']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
