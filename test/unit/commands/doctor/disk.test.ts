import { describe, expect, it } from 'vitest';
import { diagnoseDisk } from '../../../../harness/src/commands/doctor/disk.js';
import { GB } from './fixtures.js';

describe('diagnoseDisk', () => {
  const disk = (freeBytes: number, measured = '/cache') => diagnoseDisk({ cacheRoot: '/cache', measured, freeBytes });

  it('is ok at 5 GB, warns just under it, fails under 1.5 GB', () => {
    expect(disk(5 * GB)).toMatchObject({ status: 'ok', summary: '5.0 GB free at /cache' });
    expect(disk(5 * GB - 1).status).toBe('warn');
    expect(disk(1.5 * GB).status).toBe('warn');
    expect(disk(1.5 * GB - 1).status).toBe('fail');
    expect(disk(0.2 * GB).summary).toBe('0.2 GB free at /cache; under 1.5 GB');
  });

  it('the fix prunes the cache or moves it', () => {
    for (const c of [disk(3 * GB), disk(1 * GB)]) expect(c.fix).toMatch(/^kmod-harness cache prune, or set KMOD_HARNESS_CACHE to a disk/);
    expect(disk(80 * GB).fix).toBeUndefined();
  });

  it('names the ancestor it measured when the cache dir is not made yet', () => {
    expect(disk(80 * GB, '/home/u').summary).toBe('80.0 GB free at /home/u (the cache dir /cache is not made yet)');
  });
});
