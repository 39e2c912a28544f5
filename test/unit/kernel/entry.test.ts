import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import { cachedEntries, entryDir, entryKey, readMetadata, writeMetadata, type KernelArtifacts } from '../../../harness/src/kernel/entry.js';
import { prepareKernel } from '../../../harness/src/kernel/index.js';

function artifacts(dir: string, series: string, release: string): KernelArtifacts {
  return {
    series,
    release,
    packages: [{ name: `linux-image-${release}`, version: '1', suite: 'bookworm' }],
    vmlinuz: `${dir}/root/boot/vmlinuz-${release}`,
    modulesDir: `${dir}/root/lib/modules/${release}`,
    headersDir: `${dir}/root/usr/src/linux-headers-${release}`,
    config: `${dir}/root/usr/src/linux-headers-${release}/.config`,
    ccVersionText: 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0',
  };
}

describe('entryKey', () => {
  it('is series_version, safe as a file name', () => {
    expect(entryKey('6.1', '6.1.176-1')).toBe('6.1_6.1.176-1');
    expect(entryKey('6.12', '6.12.117-1')).toBe('6.12_6.12.117-1');
    expect(entryKey('x', '1:2.0~rc1+b1/..')).toBe('x_1_2.0~rc1+b1_..');
    expect(entryDir('/c', '6.1_6.1.176-1')).toBe('/c/kernels/6.1_6.1.176-1');
  });
});

describe('metadata', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'kmod-harness-entry-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips with paths stored relative to the entry', async () => {
    const final = path.join(root, 'kernels', '6.1_6.1.176-1');
    const tmp = path.join(root, 'kernels', '.tmp-x');
    await mkdir(tmp, { recursive: true });
    await writeMetadata(tmp, final, artifacts(final, '6.1', '6.1.0-50-cloud-amd64'), '6.1.176-1');
    const read = await readMetadata(tmp);
    expect(read.version).toBe('6.1.176-1');
    expect(read.artifacts).toEqual(artifacts(tmp, '6.1', '6.1.0-50-cloud-amd64'));
  });

  it('lists complete cached entries of a series, newest first, ignoring temporaries and other series', async () => {
    for (const [series, version, release] of [
      ['6.1', '6.1.176-1', '6.1.0-50-cloud-amd64'],
      ['6.1', '6.1.192-2', '6.1.0-56-cloud-amd64'],
      ['6.12', '6.12.117-1', '6.12.117+deb13-cloud-amd64'],
      // Another flavour of the same build: its own entry, never the cloud kernel's.
      ['6.1/generic', '6.1.192-2', '6.1.0-56-amd64'],
    ] as const) {
      const dir = entryDir(root, entryKey(series, version));
      await mkdir(dir, { recursive: true });
      await writeMetadata(dir, dir, artifacts(dir, series, release), version);
    }
    await mkdir(path.join(root, 'kernels', '6.1_9.9-incomplete'), { recursive: true });
    const found = await cachedEntries(root, '6.1');
    expect(found.map((e) => [e.version, e.artifacts.release])).toEqual([
      ['6.1.192-2', '6.1.0-56-cloud-amd64'],
      ['6.1.176-1', '6.1.0-50-cloud-amd64'],
    ]);
    expect(await cachedEntries(path.join(root, 'none'), '6.1')).toEqual([]);
    expect(entryKey('6.1/generic', '6.1.192-2')).toBe('6.1_generic_6.1.192-2');
    expect((await cachedEntries(root, '6.1/generic')).map((e) => [e.version, e.artifacts.release])).toEqual([['6.1.192-2', '6.1.0-56-amd64']]);
  });
});

describe('prepareKernel', () => {
  it('rejects an unknown series before touching the network', async () => {
    await expect(prepareKernel('2.6', { cacheRoot: '/nonexistent' })).rejects.toBeInstanceOf(UsageError);
  });
});
