import { chmod, link, mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatCache,
  formatPrune,
  listCache,
  mountinfoPaths,
  pathsInUse,
  planPrune,
  pruneCache,
  type CacheEntry,
} from '../../../harness/src/commands/cache.js';
import { entryLockFile, STALE_TEMP_MS } from '../../../harness/src/cache/store.js';
import { acquireLock } from '../../../harness/src/cache/lock.js';
import { UsageError } from '../../../harness/src/errors.js';
import { writeMetadata, type KernelArtifacts } from '../../../harness/src/kernel/entry.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0);
const DAY = 86_400_000;

/** An entry as listCache would give it; `name` and `kind` are enough for most. */
function entry(over: Partial<CacheEntry> & Pick<CacheEntry, 'kind' | 'name'>): CacheEntry {
  const area = {
    kernel: 'kernels',
    image: 'images',
    'image-memo': 'images',
    toolchain: 'toolchains',
    'staged-modules': 'staged-modules',
    apt: 'apt',
    source: 'sources',
    'guest-userland': 'guest-userland',
    snapshot: 'snapshots',
    'module-build': 'builds',
    'peer-tool': 'peers',
    'accel-probe': '',
    temp: 'kernels',
    other: '',
  }[over.kind];
  return { area, path: `/c/${area}/${over.name}`, bytes: 1000, lastWriteMs: NOW - 30 * DAY, what: over.kind, ...over };
}
const kernel = (series: string, version: string, release: string, over: Partial<CacheEntry> = {}): CacheEntry =>
  entry({ kind: 'kernel', name: `${series}_${version}`, series, version, release, ...over });
const image = (release: string, hash: string, over: Partial<CacheEntry> = {}): CacheEntry =>
  entry({ kind: 'image', name: `${release}-${hash}`, release, ...over });

const names = (decisions: { entry: CacheEntry }[]): string[] => decisions.map((d) => d.entry.name);
const why = (decisions: { entry: CacheEntry; reason: string }[], name: string): string | undefined => decisions.find((d) => d.entry.name === name)?.reason;

describe('planPrune of snapshots', () => {
  const k61 = kernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64');
  const old = kernel('6.1', '6.1.99-1', '6.1.0-9-cloud-amd64');
  const img = image('6.1.0-56-cloud-amd64', 'a'.repeat(24));
  const snap = (name: string, kernelFile: string, over: Partial<CacheEntry> = {}) =>
    entry({ kind: 'snapshot', name, release: name, needs: [kernelFile, `${img.path}/initramfs.cpio`, '/usr/bin/qemu-system-x86_64'], ...over });

  it('removes a snapshot whose kernel goes with this prune or is already gone, and keeps one whose kernel, image and QEMU stay', () => {
    const stays = snap('stays', `${k61.path}/root/boot/vmlinuz`);
    const follows = snap('follows', `${old.path}/root/boot/vmlinuz`);
    const gone = snap('gone', '/somewhere/bzImage', { missing: '/somewhere/bzImage' });
    const plan = planPrune([k61, old, img, stays, follows, gone], {}, NOW);
    expect(names(plan.remove)).toEqual(['6.1_6.1.99-1', 'follows', 'gone']);
    expect(why(plan.remove, 'follows')).toBe(`${old.path}/root/boot/vmlinuz goes with this prune`);
    expect(why(plan.remove, 'gone')).toBe('/somewhere/bzImage is gone: no boot can use it');
    expect(why(plan.keep, 'stays')).toBe('its kernel, image and QEMU are there');
  });

  it('a snapshot whose image goes goes too; one in use (a restored VM maps its RAM) stays', () => {
    const oldImage = image('6.1.0-9-cloud-amd64', 'c'.repeat(24));
    const onImage = entry({ kind: 'snapshot', name: 'img', needs: [`${k61.path}/vmlinuz`, `${oldImage.path}/initramfs.cpio`] });
    const inUse = entry({ kind: 'snapshot', name: 'busy', needs: [`${old.path}/vmlinuz`], inUse: 'pid 1 (qemu-system-x86)' });
    const plan = planPrune([k61, old, img, oldImage, onImage, inUse], {}, NOW);
    expect(names(plan.remove)).toEqual(['6.1_6.1.99-1', oldImage.name, 'img']);
    expect(why(plan.keep, 'busy')).toBe('in use by pid 1 (qemu-system-x86)');
  });
});

describe('planPrune of module builds', () => {
  it('removes a build whose kernel headers go with this prune or are gone, keeps the others', () => {
    const k61 = kernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64');
    const old = kernel('6.1', '6.1.99-1', '6.1.0-9-cloud-amd64');
    const build = (name: string, headers: string, over: Partial<CacheEntry> = {}) => entry({ kind: 'module-build', name, needs: [headers], ...over });
    const plan = planPrune(
      [k61, old, build('stays', `${k61.path}/root/usr/src/h`), build('follows', `${old.path}/root/usr/src/h`), build('gone', '/x/h', { missing: '/x/h' })],
      {},
      NOW,
    );
    expect(names(plan.remove)).toEqual(['6.1_6.1.99-1', 'follows', 'gone']);
    expect(why(plan.keep, 'stays')).toBe('its kernel headers are there');
    expect(why(plan.remove, 'gone')).toBe('/x/h is gone: no build can use it');
  });
});

describe('planPrune', () => {
  const cache = [
    kernel('6.1', '6.1.99-1', '6.1.0-9-cloud-amd64'),
    kernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64', { lastWriteMs: NOW - 40 * DAY }),
    kernel('6.1', '6.1.176-1', '6.1.0-50-cloud-amd64'),
    kernel('6.12', '6.12.118-1', '6.12.118+deb13-cloud-amd64'),
    image('6.1.0-56-cloud-amd64', 'a'.repeat(24)),
    image('6.1.0-56-cloud-amd64', 'b'.repeat(24)),
    image('6.1.0-50-cloud-amd64', 'c'.repeat(24)),
    image('5.10.0-46-cloud-amd64', 'd'.repeat(24)),
    image('6.6.0-local', 'e'.repeat(24)),
    entry({ kind: 'staged-modules', name: `6.6.0-local-${'f'.repeat(16)}`, release: '6.6.0-local' }),
    entry({ kind: 'image-memo', name: 'memo' }),
    entry({ kind: 'toolchain', name: 'trixie-gcc-14' }),
    entry({ kind: 'apt', name: 'trixie' }),
    entry({ kind: 'accel-probe', name: 'accel-probe.json' }),
  ];

  it('keeps the newest build per series by Debian version, and images of the releases that stay', () => {
    const plan = planPrune(cache, {}, NOW);
    expect(names(plan.remove)).toEqual(['6.1_6.1.99-1', '6.1_6.1.176-1', `6.1.0-50-cloud-amd64-${'c'.repeat(24)}`, `5.10.0-46-cloud-amd64-${'d'.repeat(24)}`]);
    expect(why(plan.remove, '6.1_6.1.176-1')).toBe('superseded by 6.1 6.1.192-2');
    expect(why(plan.remove, `5.10.0-46-cloud-amd64-${'d'.repeat(24)}`)).toBe('no cached kernel or staged modules are 5.10.0-46-cloud-amd64');
    // Both images of the kept release stay: another checkout may be using either.
    expect(names(plan.keep)).toContain(`6.1.0-56-cloud-amd64-${'b'.repeat(24)}`);
    // An image of a kernel the user built stays with its staged modules.
    expect(why(plan.keep, `6.6.0-local-${'e'.repeat(24)}`)).toBe('6.6.0-local is cached');
    for (const name of ['memo', 'trixie-gcc-14', 'trixie', 'accel-probe.json']) expect(why(plan.keep, name)).toBe('kept unless --all');
    expect(plan.keep.length + plan.remove.length).toBe(cache.length);
    expect(plan.bytes).toBe(4000);
  });

  it('keeps N builds per series with keepPerSeries, and none with 0', () => {
    expect(names(planPrune(cache, { keepPerSeries: 2 }, NOW).remove)).toEqual(['6.1_6.1.99-1', `5.10.0-46-cloud-amd64-${'d'.repeat(24)}`]);
    const none = planPrune(cache, { keepPerSeries: 0 }, NOW);
    expect(names(none.remove).filter((n) => n.includes('_'))).toEqual(['6.1_6.1.99-1', '6.1_6.1.192-2', '6.1_6.1.176-1', '6.12_6.12.118-1']);
    expect(why(none.remove, '6.12_6.12.118-1')).toBe('no build of a series is kept (keep 0)');
  });

  it('never removes an entry in use, which still counts as one of the kept', () => {
    const inUse = kernel('6.1', '6.1.176-1', '6.1.0-50-cloud-amd64', { inUse: 'pid 7 (make)' });
    const plan = planPrune(
      [kernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64', { inUse: 'pid 8 (qemu)' }), inUse, image('6.1.0-50-cloud-amd64', 'c'.repeat(24))],
      { all: false },
      NOW,
    );
    expect(plan.remove).toEqual([]);
    expect(why(plan.keep, '6.1_6.1.176-1')).toBe('in use by pid 7 (make)');
    expect(why(plan.keep, '6.1_6.1.192-2')).toBe('in use by pid 8 (qemu)');
    expect(planPrune([inUse], { all: true }, NOW).remove).toEqual([]);
  });

  it('removes stale temp dirs and broken entries always, fresh temp dirs never', () => {
    const plan = planPrune(
      [
        entry({ kind: 'temp', name: '.tmp-6.1_6.1.192-2-aaaaaa', lastWriteMs: NOW - STALE_TEMP_MS - 1 }),
        entry({ kind: 'temp', name: '.tmp-6.1_6.1.192-2-bbbbbb', lastWriteMs: NOW - 60_000 }),
        kernel('6.1', '?', '?', { name: '6.1_half', broken: true, lastWriteMs: NOW }),
      ],
      { olderThanDays: 10, all: true },
      NOW,
    );
    expect(names(plan.remove)).toEqual(['.tmp-6.1_6.1.192-2-aaaaaa', '6.1_half']);
    expect(why(plan.keep, '.tmp-6.1_6.1.192-2-bbbbbb')).toBe('written 1 min ago: a fill may still be running');
  });

  it('holds back removals by policy of what was written recently with olderThanDays, and the images of such kernels', () => {
    const recent = kernel('6.1', '6.1.176-1', '6.1.0-50-cloud-amd64', { lastWriteMs: NOW - 2 * DAY });
    const plan = planPrune(
      [kernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64'), recent, image('6.1.0-50-cloud-amd64', 'c'.repeat(24))],
      { olderThanDays: 7 },
      NOW,
    );
    expect(plan.remove).toEqual([]);
    expect(why(plan.keep, '6.1_6.1.176-1')).toBe('superseded by 6.1 6.1.192-2, but written 2 days ago (--older-than 7)');
    expect(why(plan.keep, `6.1.0-50-cloud-amd64-${'c'.repeat(24)}`)).toBe('6.1.0-50-cloud-amd64 is cached');
  });

  it('with all removes everything the harness made (older than olderThanDays), never what it did not make', () => {
    const stranger = entry({ kind: 'other', name: 'notes' });
    const all = planPrune([...cache, stranger], { all: true }, NOW);
    expect(all.keep).toEqual([{ entry: stranger, reason: 'not made by the harness: never removed' }]);
    expect(all.remove).toHaveLength(cache.length);
    const recent = entry({ kind: 'toolchain', name: 'sid-gcc-16', lastWriteMs: NOW - DAY });
    expect(names(planPrune([recent, entry({ kind: 'toolchain', name: 'trixie-gcc-14' })], { all: true, olderThanDays: 7 }, NOW).remove)).toEqual([
      'trixie-gcc-14',
    ]);
  });

  it('rejects a bad keep count or age', () => {
    expect(() => planPrune(cache, { keepPerSeries: -1 }, NOW)).toThrow(UsageError);
    expect(() => planPrune(cache, { keepPerSeries: 1.5 }, NOW)).toThrow(UsageError);
    expect(() => planPrune(cache, { olderThanDays: Number.NaN }, NOW)).toThrow(UsageError);
  });
});

describe('mountinfoPaths', () => {
  it('reads bind sources, mount points and overlay layers, unescaping spaces', () => {
    const text = [
      '36 35 98:0 /c/kernels/6.1_x /stage/new/c/kernels/6.1_x rw,relatime - ext4 /dev/vda rw',
      '40 35 0:50 / /stage/new rw - overlay overlay rw,lowerdir=/c/toolchains/trixie-gcc-14/root,upperdir=/stage/upper,workdir=/stage/work',
      '41 35 0:51 / /my\\040dir rw - tmpfs kmod-harness rw',
    ].join('\n');
    expect(mountinfoPaths(text)).toEqual([
      '/c/kernels/6.1_x',
      '/stage/new/c/kernels/6.1_x',
      '/',
      '/stage/new',
      '/c/toolchains/trixie-gcc-14/root',
      '/stage/upper',
      '/stage/work',
      '/',
      '/my dir',
    ]);
  });
});

describe('formatting', () => {
  const entries = [
    kernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64', {
      what: 'kernel 6.1.0-56-cloud-amd64 (6.1, 6.1.192-2, bookworm-security)',
      bytes: 170_000_000,
      lastWriteMs: Date.UTC(2026, 10, 25, 2, 43),
    }),
    entry({
      kind: 'accel-probe',
      name: 'accel-probe.json',
      what: 'KVM probe result',
      bytes: 4096,
      lastWriteMs: Date.UTC(2026, 10, 25, 2, 43),
      inUse: 'pid 9 (cat)',
    }),
  ];

  it('formatCache aligns the entries and adds a total', () => {
    expect(formatCache(entries)).toBe(
      [
        'ENTRY                       SIZE  WRITTEN (UTC)     WHAT',
        'kernels/6.1_6.1.192-2  162.1 MiB  2026-11-25 02:43  kernel 6.1.0-56-cloud-amd64 (6.1, 6.1.192-2, bookworm-security)',
        'accel-probe.json         4.0 KiB  2026-11-25 02:43  KVM probe result; in use by pid 9 (cat)',
        '',
        'Total: 162.1 MiB in 2 entries. WRITTEN is the last write: runs do not mark what they use.',
        '',
      ].join('\n'),
    );
  });

  it('formatPrune says what would go and why', () => {
    const text = formatPrune({
      dryRun: true,
      removed: [{ entry: entries[0]!, reason: 'superseded by 6.1 6.1.200-1' }],
      kept: [],
      failed: [],
      memos: { files: 2, bytes: 8192 },
      bytesFreed: 170_008_192,
    });
    expect(text.split('\n')).toEqual([
      'Would remove:',
      '  ENTRY                       SIZE  WHY',
      '  kernels/6.1_6.1.192-2  162.1 MiB  superseded by 6.1 6.1.200-1',
      '',
      'would drop 2 image memo(s) naming images that are gone',
      'Would remove 1 entries, 162.1 MiB would be freed.',
      '',
    ]);
  });
});

// The file system part, on a cache root the test builds.
describe('on disk', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'kmh-cache-admin-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const old = new Date(NOW - 30 * DAY);
  const hex = (c: string, n: number): string => c.repeat(n);

  async function put(rel: string, data: string | Buffer = 'x'): Promise<string> {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    return file;
  }

  async function addKernel(series: string, version: string, release: string): Promise<string> {
    const dir = path.join(root, 'kernels', `${series}_${version}`);
    await put(`kernels/${series}_${version}/root/boot/vmlinuz-${release}`, Buffer.alloc(20_000, 1));
    const artifacts: KernelArtifacts = {
      series,
      release,
      packages: [{ name: `linux-headers-${release}`, version, suite: 'bookworm' }],
      vmlinuz: `${dir}/root/boot/vmlinuz-${release}`,
      modulesDir: `${dir}/root/lib/modules/${release}`,
      headersDir: `${dir}/root/usr/src/linux-headers-${release}`,
      config: `${dir}/root/usr/src/linux-headers-${release}/.config`,
      ccVersionText: 'gcc-12 (Debian 12.2.0-14) 12.2.0',
    };
    await writeMetadata(dir, dir, artifacts, version);
    return dir;
  }

  /** A cache with a kernel superseded, its image orphaned, a stale temp dir, a broken entry and a stranger. */
  async function build(): Promise<Record<string, string>> {
    const current = await addKernel('6.1', '6.1.192-2', '6.1.0-56-cloud-amd64');
    const superseded = await addKernel('6.1', '6.1.176-1', '6.1.0-50-cloud-amd64');
    await put('kernels/6.1_broken/root/x');
    const stale = await put(`kernels/.tmp-6.1_6.1.200-1-abcdef/partial.deb`, Buffer.alloc(5000));
    await utimes(stale, old, old);
    await utimes(path.dirname(stale), old, old);
    const keptImage = path.dirname(await put(`images/6.1.0-56-cloud-amd64-${hex('a', 24)}/initramfs.cpio`, Buffer.alloc(8000)));
    const orphan = path.dirname(await put(`images/6.1.0-50-cloud-amd64-${hex('b', 24)}/initramfs.cpio`, Buffer.alloc(8000)));
    await put('images/memo/1.json', JSON.stringify({ dir: keptImage, modules: {} }));
    await put('images/memo/2.json', JSON.stringify({ dir: orphan, modules: {} }));
    await put('toolchains/trixie-gcc-14/toolchain.json', JSON.stringify({ suite: 'trixie', gccPackage: 'gcc-14', gccVersion: '14.2.0-19' }));
    await put('apt/bookworm/updated', 'now\n');
    await put('accel-probe.json', '{}');
    await put('notes/mine.txt', 'not the harness');
    return { current, superseded, stale: path.dirname(stale), keptImage, orphan };
  }

  it('listCache names snapshots and module builds, and which of the files they need are gone', async () => {
    const dirs = await build();
    const vmlinuz = path.join(dirs.current!, 'root/boot/vmlinuz-6.1.0-56-cloud-amd64');
    const meta = {
      label: '6.1.0-56-cloud-amd64',
      initrd: path.join(dirs.keptImage!, 'initramfs.cpio'),
      qemu: process.execPath,
      argv: [],
      createdAt: '',
      bootMs: 5200,
    };
    await put('snapshots/6.1.0-56-cloud-amd64-x/meta.json', JSON.stringify({ ...meta, kernel: vmlinuz, ramBytes: 80 << 20, stateBytes: 1 << 20 }));
    await put('snapshots/6.1.0-9-cloud-amd64-y/meta.json', JSON.stringify({ ...meta, kernel: '/gone/vmlinuz', ramBytes: 0, stateBytes: 0 }));
    await put('snapshots/broken/ram', 'x');
    await put('builds/mmap-z/build.json', JSON.stringify({ format: 1, names: ['lkmc_mmap'], headersDir: dirs.current }));
    await put('builds/other-w/build.json', JSON.stringify({ format: 1, names: ['x'], headersDir: '/gone/headers' }));
    const by = Object.fromEntries((await listCache(root, { scanProcesses: false })).map((e) => [`${e.area}/${e.name}`, e]));
    expect(by['snapshots/6.1.0-56-cloud-amd64-x']).toMatchObject({
      kind: 'snapshot',
      release: '6.1.0-56-cloud-amd64',
      what: 'snapshot of a booted 6.1.0-56-cloud-amd64 (RAM 80 MB on disk, device state 1 MB, cold boot 5.2 s)',
      needs: [vmlinuz, meta.initrd, process.execPath],
    });
    expect(by['snapshots/6.1.0-56-cloud-amd64-x']!.missing).toBeUndefined();
    expect(by['snapshots/6.1.0-9-cloud-amd64-y']!.missing).toBe('/gone/vmlinuz');
    expect(by['snapshots/broken']).toMatchObject({ kind: 'snapshot', broken: true });
    expect(by['builds/mmap-z']).toMatchObject({ kind: 'module-build', what: `built module lkmc_mmap (for ${dirs.current})` });
    expect(by['builds/other-w']!.missing).toBe('/gone/headers');
    const plan = planPrune(Object.values(by), {}, Date.now());
    expect(plan.remove.map((d) => `${d.entry.area}/${d.entry.name}`)).toEqual(
      expect.arrayContaining(['snapshots/6.1.0-9-cloud-amd64-y', 'snapshots/broken', 'builds/other-w']),
    );
    expect(plan.keep.map((d) => `${d.entry.area}/${d.entry.name}`)).toEqual(expect.arrayContaining(['snapshots/6.1.0-56-cloud-amd64-x', 'builds/mmap-z']));
  });

  it('listCache names what each entry is, with du-like sizes and the newest write inside', async () => {
    const dirs = await build();
    // A symlink is not followed; a hard link is counted once.
    await symlink('/usr', path.join(dirs.current!, 'usr-link'));
    await link(path.join(dirs.current!, 'root/boot/vmlinuz-6.1.0-56-cloud-amd64'), path.join(dirs.current!, 'vmlinuz-again'));
    const inside = new Date(NOW - DAY);
    await utimes(path.join(dirs.superseded!, 'kernel.json'), inside, inside);
    const entries = await listCache(root, { scanProcesses: false });
    const by = Object.fromEntries(entries.map((e) => [e.area ? `${e.area}/${e.name}` : e.name, e]));
    expect(Object.keys(by)).toEqual([
      'kernels/.tmp-6.1_6.1.200-1-abcdef',
      'kernels/6.1_6.1.176-1',
      'kernels/6.1_6.1.192-2',
      'kernels/6.1_broken',
      'toolchains/trixie-gcc-14',
      `images/6.1.0-50-cloud-amd64-${hex('b', 24)}`,
      `images/6.1.0-56-cloud-amd64-${hex('a', 24)}`,
      'images/memo',
      'apt/bookworm',
      'accel-probe.json',
      'notes',
    ]);
    expect(by['kernels/6.1_6.1.192-2']).toMatchObject({
      kind: 'kernel',
      series: '6.1',
      version: '6.1.192-2',
      release: '6.1.0-56-cloud-amd64',
      what: 'kernel 6.1.0-56-cloud-amd64 (6.1, 6.1.192-2, bookworm)',
    });
    expect(by['kernels/6.1_broken']).toMatchObject({ kind: 'kernel', broken: true });
    expect(by['kernels/.tmp-6.1_6.1.200-1-abcdef']).toMatchObject({ kind: 'temp', lastWriteMs: old.getTime() });
    expect(by['toolchains/trixie-gcc-14']).toMatchObject({ kind: 'toolchain', what: 'compiler root: gcc-14 14.2.0-19 of trixie' });
    expect(by[`images/6.1.0-50-cloud-amd64-${hex('b', 24)}`]).toMatchObject({ kind: 'image', release: '6.1.0-50-cloud-amd64' });
    expect(by['images/memo']!.kind).toBe('image-memo');
    expect(by['apt/bookworm']!.kind).toBe('apt');
    expect(by['accel-probe.json']!.kind).toBe('accel-probe');
    expect(by.notes!.kind).toBe('other');
    // Allocated blocks: at least the 20 kB kernel once, far less than /usr or two copies.
    expect(by['kernels/6.1_6.1.192-2']!.bytes).toBeGreaterThanOrEqual(20_000);
    expect(by['kernels/6.1_6.1.192-2']!.bytes).toBeLessThan(40_000 + 5 * 4096);
    // The newest mtime of anything in the entry, not the dir's own.
    const superseded = by['kernels/6.1_6.1.176-1']!;
    expect(superseded.lastWriteMs).toBeGreaterThan(inside.getTime());
  });

  it('listCache takes an image memo written later as the image’s last write', async () => {
    const dirs = await build();
    for (const p of [path.join(dirs.keptImage!, 'initramfs.cpio'), dirs.keptImage!]) await utimes(p, old, old);
    const memoTime = new Date(NOW - DAY);
    await utimes(path.join(root, 'images/memo/1.json'), memoTime, memoTime);
    const entries = await listCache(root, { scanProcesses: false });
    expect(entries.find((e) => e.path === dirs.keptImage)!.lastWriteMs).toBe(memoTime.getTime());
  });

  it('listCache marks entries a process holds, from a proc tree', async () => {
    const dirs = await build();
    const proc = await mkdtemp(path.join(tmpdir(), 'kmh-proc-'));
    try {
      await mkdir(path.join(proc, '4242/fd'), { recursive: true });
      await mkdir(path.join(proc, '4242/ns'));
      await writeFile(path.join(proc, '4242/comm'), 'make\n');
      await symlink(path.join(dirs.superseded!, 'root/usr/src'), path.join(proc, '4242/cwd'));
      await symlink('/', path.join(proc, '4242/root'));
      await symlink('mnt:[1]', path.join(proc, '4242/ns/mnt'));
      await writeFile(
        path.join(proc, '4242/mountinfo'),
        `40 35 0:50 / /s/new rw - overlay overlay rw,lowerdir=${root}/toolchains/trixie-gcc-14/root,upperdir=/s/u,workdir=/s/w\n`,
      );
      const held = await pathsInUse(root, proc);
      expect([...held.values()]).toEqual(['pid 4242 (make)', 'pid 4242 (make)']);
      const entries = await listCache(root, { proc });
      expect(entries.filter((e) => e.inUse).map((e) => [e.name, e.inUse])).toEqual([
        ['6.1_6.1.176-1', 'pid 4242 (make)'],
        ['trixie-gcc-14', 'pid 4242 (make)'],
      ]);
    } finally {
      await rm(proc, { recursive: true, force: true });
    }
  });

  it('pruneCache removes what the plan says, leaves no half-removed entry, and drops memos of removed images', async () => {
    const dirs = await build();
    const result = await pruneCache(root, {});
    expect(result.dryRun).toBe(false);
    expect(result.failed).toEqual([]);
    expect(result.removed.map((d) => d.entry.name).sort()).toEqual(
      ['.tmp-6.1_6.1.200-1-abcdef', '6.1_6.1.176-1', '6.1_broken', `6.1.0-50-cloud-amd64-${hex('b', 24)}`].sort(),
    );
    expect(await readdir(path.join(root, 'kernels'))).toEqual(['6.1_6.1.192-2']);
    expect(await readdir(path.join(root, 'images'))).toEqual([`6.1.0-56-cloud-amd64-${hex('a', 24)}`, 'memo'].sort());
    expect(await readdir(path.join(root, 'images/memo'))).toEqual(['1.json']);
    expect(result.memos.files).toBe(1);
    expect(result.bytesFreed).toBe(result.removed.reduce((s, d) => s + d.entry.bytes, 0) + result.memos.bytes);
    expect(result.bytesFreed).toBeGreaterThan(20_000 + 8000 + 5000);
    for (const kept of [
      dirs.current!,
      dirs.keptImage!,
      path.join(root, 'toolchains/trixie-gcc-14'),
      path.join(root, 'apt/bookworm'),
      path.join(root, 'accel-probe.json'),
      path.join(root, 'notes'),
    ]) {
      expect((await stat(kept)).isDirectory() || (await stat(kept)).isFile()).toBe(true);
    }
    // Nothing left to prune the second time.
    expect((await pruneCache(root, {})).removed).toEqual([]);
  });

  it('pruneCache with dryRun reports the same and removes nothing', async () => {
    await build();
    const before = await listCache(root, { scanProcesses: false });
    const result = await pruneCache(root, { dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.removed).toHaveLength(4);
    expect(result.memos.files).toBe(1);
    expect((await listCache(root, { scanProcesses: false })).map((e) => e.path)).toEqual(before.map((e) => e.path));
    expect(await readdir(path.join(root, 'images/memo'))).toEqual(['1.json', '2.json']);
  });

  it('asks the locks: a fresh temp dir of an ended fill goes, a running fill and an apt state in use stay, lock files are no entries', async () => {
    await build();
    const ended = '.tmp-6.1_6.1.201-1-AbC123';
    const running = '.tmp-6.1_6.1.202-1-xYz789';
    for (const name of [ended, running]) await put(`kernels/${name}/partial.deb`);
    await (await acquireLock(entryLockFile(root, 'kernels', '6.1_6.1.201-1'), { what: 'x' })).release();
    const fill = await acquireLock(entryLockFile(root, 'kernels', '6.1_6.1.202-1'), { what: 'x' });
    const apt = await acquireLock(entryLockFile(root, 'apt', 'bookworm'), { what: 'x', shared: true });
    try {
      const entries = await listCache(root, { scanProcesses: false });
      expect(entries.filter((e) => e.name.startsWith('.lock-'))).toEqual([]);
      expect(entries.find((e) => e.name === ended)).toMatchObject({ kind: 'temp', fillEnded: true });
      expect(entries.find((e) => e.name === ended)!.inUse).toBeUndefined();
      expect(entries.find((e) => e.name === running)).toMatchObject({ kind: 'temp', inUse: `a running fill (pid ${process.pid})` });
      const result = await pruneCache(root, { all: true });
      expect(result.failed).toEqual([]);
      expect(names(result.removed)).toContain(ended);
      expect(why(result.removed, ended)).toBe('temporary dir of a fill whose run has ended (its lock is free)');
      expect(why(result.kept, running)).toBe(`in use by a running fill (pid ${process.pid})`);
      expect(why(result.kept, 'bookworm')).toBe(`locked by a run (pid ${process.pid}): in use`);
      expect((await readdir(path.join(root, 'kernels'))).sort()).toEqual(['.lock-6.1_6.1.201-1', '.lock-6.1_6.1.202-1', running]);
      expect(await readdir(path.join(root, 'apt', 'bookworm'))).toEqual(['updated']);
    } finally {
      await fill.release();
      await apt.release();
    }
  });

  it('pruneCache with all empties the cache of everything the harness made, read-only dirs included', async () => {
    await build();
    const readOnly = path.join(root, 'toolchains/trixie-gcc-14/root/proc-like');
    await put('toolchains/trixie-gcc-14/root/proc-like/f');
    await chmod(readOnly, 0o555);
    const result = await pruneCache(root, { all: true });
    expect(result.failed).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(['apt', 'images', 'kernels', 'notes', 'toolchains']);
    for (const area of ['apt', 'images', 'kernels', 'toolchains']) expect(await readdir(path.join(root, area))).toEqual([]);
  });
});
