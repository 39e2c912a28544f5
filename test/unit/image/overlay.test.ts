import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import { findTool } from '../../../harness/src/host/tools.js';
import { readCpio, writeCpio, type CpioEntry } from '../../../harness/src/image/cpio.js';
import { elfInterpreter } from '../../../harness/src/image/elf.js';
import { buildImage } from '../../../harness/src/image/initramfs.js';
import { BaseTree, composeOverlay, LOADER, overlayEntries, overlayInit, readBaseRoot, rootAccount } from '../../../harness/src/image/overlay.js';
import { needs } from '../../support/host-tools.js';

const file = (p: string, data = ''): CpioEntry => ({ type: 'file', path: p, data: Buffer.from(data) });
const dir = (p: string): CpioEntry => ({ type: 'dir', path: p });
const link = (p: string, target: string): CpioEntry => ({ type: 'symlink', path: p, target });

const release = '6.1.44';
const haveXz = Boolean(await findTool('xz'));
const haveZstd = Boolean(await findTool('zstd'));

/** A Buildroot-like root: merged /bin, /lib64 -> lib, /etc/dropbear -> /var/run/dropbear, a libc of its own. */
function baseEntries(extra: CpioEntry[] = []): CpioEntry[] {
  return [
    dir('/usr'),
    dir('/usr/bin'),
    file('/usr/bin/busybox', 'uclibc busybox'),
    link('/usr/bin/sh', 'busybox'),
    link('/bin', 'usr/bin'),
    dir('/lib'),
    file('/lib/libc.so.0', 'uclibc'),
    link('/lib64', 'lib'),
    dir('/usr/lib'),
    dir('/etc'),
    file('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n'),
    link('/etc/dropbear', '/var/run/dropbear'),
    dir('/var'),
    link('/var/run', '../run'),
    dir('/run'),
    dir('/proc'),
    dir('/sys'),
    dir('/dev'),
    { type: 'chardev', path: '/dev/console', major: 5, minor: 1 },
    file('/init', '#!/bin/sh\nexec /sbin/init\n'),
    dir(`/lib/modules`),
    dir(`/lib/modules/${release}`),
    dir(`/lib/modules/${release}/kernel`),
    dir(`/lib/modules/${release}/kernel/drivers`),
    dir(`/lib/modules/${release}/kernel/drivers/net`),
    file(`/lib/modules/${release}/kernel/drivers/net/virtio_net.ko`, 'virtio_net from the rootfs'),
    ...extra,
  ];
}

const treeOf = (entries: CpioEntry[]) => new BaseTree(readCpio(writeCpio(entries)));

describe('BaseTree', () => {
  const tree = treeOf(baseEntries());

  it('follows relative and absolute symlinks, in any component, as the kernel would', () => {
    expect(tree.resolve('/bin/sh')).toBe('/usr/bin/busybox');
    expect(tree.lookup('/bin/sh')?.type).toBe('file');
    expect(tree.resolve('/lib64/libc.so.0')).toBe('/lib/libc.so.0');
    expect(tree.resolve('/usr/../lib64/./libc.so.0')).toBe('/lib/libc.so.0');
    expect(tree.resolve('/')).toBe('/');
    expect(tree.lookup('/var/run')?.type).toBe('dir');
  });

  it('knows a dangling symlink is there, though nothing is behind it', () => {
    expect(tree.has('/etc/dropbear')).toBe(true);
    expect(tree.lookup('/etc/dropbear')).toBeUndefined();
    expect(tree.has('/nope')).toBe(false);
  });

  it('stops on symlink loops', () => {
    const loop = treeOf([link('/a', 'b'), link('/b', 'a')]);
    expect(loop.resolve('/a/x')).toBeUndefined();
  });

  it('counts directories an archive implies but does not list', () => {
    expect(treeOf([file('/opt/app/run', 'x')]).lookup('/opt/app')?.type).toBe('dir');
  });
});

describe('readBaseRoot', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-base-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ['rootfs.cpio', true],
    ['rootfs.cpio.gz', true],
    ['rootfs.cpio.xz', haveXz],
    ['rootfs.cpio.zst', haveZstd],
  ])('reads %s, by its magic, padded to 4 bytes for the next archive', async (name, available) => {
    if (!available) return;
    // 3 bytes of garbage after the trailer: the padding must make the length a multiple of 4.
    const archive = Buffer.concat([writeCpio(baseEntries()), Buffer.alloc(3)]);
    const plain = path.join(work, 'rootfs.cpio');
    await writeFile(plain, archive);
    const file = path.join(work, name);
    if (name.endsWith('.gz')) await writeFile(file, gzipSync(archive));
    if (name.endsWith('.xz')) await execa('xz', ['-kf', '-T1', plain]);
    if (name.endsWith('.zst')) await execa('zstd', ['-qf', plain, '-o', file]);
    const base = await readBaseRoot(file);
    expect(base.archive.length % 4).toBe(0);
    expect(base.archive.subarray(0, archive.length).equals(archive)).toBe(true);
    expect(base.records.map((r) => r.path)).toContain('/lib/libc.so.0');
    expect(base.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('overlayEntries', () => {
  it('adds only the directories the base lacks: never one where the base has a symlink', () => {
    const base = treeOf(baseEntries([link('/usr/libexec', '../lib')]));
    const entries = overlayEntries([file('/usr/lib/sftp-server'), file('/kmod-harness/bin/busybox'), file('/usr/libexec/x'), file('/lib64/y')], base);
    const dirs = entries.filter((e) => e.type === 'dir').map((e) => e.path);
    expect(dirs).toEqual(['/kmod-harness', '/kmod-harness/bin', '/root', '/tmp']);
    // The root's /dev/console stays; /dev/null is added (devtmpfs covers /dev later anyway).
    expect(entries.filter((e) => e.type === 'chardev').map((e) => e.path)).toEqual(['/dev/null']);
  });
});

describe('rootAccount and overlayInit', () => {
  it("reads root's shell and home", () => {
    expect(rootAccount('daemon:x:1:1::/:/bin/false\nroot:x:0:0:root:/root:/bin/ash\n')).toEqual({ shell: '/bin/ash', home: '/root' });
    expect(rootAccount('root:x:0:0::/:\n')).toEqual({ shell: '/bin/sh', home: '/' });
    expect(rootAccount('daemon:x:1:1::/:/bin/false\n')).toBeUndefined();
    expect(rootAccount(undefined)).toBeUndefined();
  });

  it("runs the guest's /init with the harness's busybox, not the root's shell", () => {
    expect(overlayInit('#!/bin/sh\n# init\n')).toBe('#!/kmod-harness/bin/sh\n# init\n');
  });
});

const tools = await needs(['busybox', 'dropbear', 'dropbearkey', 'sftp-server', 'ldd']);

describe.skipIf(tools.skip)('composeOverlay and buildImage on a base root (host busybox, dropbear, sftp-server)', () => {
  beforeAll(() => tools.require());
  let work: string;
  let modulesDir: string;
  const writeBase = async (name: string, entries: CpioEntry[]): Promise<string> => {
    const p = path.join(work, name);
    await writeFile(p, gzipSync(writeCpio(entries)));
    return p;
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-overlay-'));
    modulesDir = path.join(work, 'modules', release);
    await mkdir(path.join(modulesDir, 'kernel/drivers/net'), { recursive: true });
    await writeFile(path.join(modulesDir, 'kernel/drivers/net/virtio_net.ko'), 'virtio_net');
    await writeFile(path.join(modulesDir, 'kernel/drivers/net/net_failover.ko'), 'net_failover, not in the rootfs');
    await writeFile(
      path.join(modulesDir, 'modules.dep'),
      'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko\nkernel/drivers/net/net_failover.ko:\n',
    );
    await writeFile(path.join(modulesDir, 'modules.builtin'), 'kernel/drivers/virtio/virtio_pci.ko\n');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("keeps the root's /lib, libc and accounts, and puts the harness under /kmod-harness", async () => {
    const base = await writeBase('rootfs.cpio.gz', baseEntries());
    const { entries, base: read, hostKeyPath, selection } = await composeOverlay({ release, modulesDir, baseInitramfs: base });
    const paths = entries.map((e) => e.path);
    expect(
      paths.filter((p) => p === '/lib' || p.startsWith('/lib/') || p === '/lib64' || p === '/usr/lib' || p === '/bin' || p.startsWith('/etc/passwd')),
    ).toEqual([]);
    expect(paths.filter((p) => !p.startsWith('/kmod-harness')).sort()).toEqual([
      '/dev/null',
      '/etc/kmod-harness',
      '/etc/kmod-harness/modules',
      '/init',
      '/root',
      '/tmp',
      '/usr/lib/sftp-server',
    ]);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const text = (p: string) => {
      const e = byPath.get(p);
      return e?.type === 'file' ? Buffer.from(e.data).toString() : undefined;
    };
    expect(text('/init')).toMatch(/^#!\/kmod-harness\/bin\/sh\n/);
    expect(text('/usr/lib/sftp-server')).toBe(
      `#!/kmod-harness/bin/sh\nexec ${LOADER} --library-path /kmod-harness/lib /kmod-harness/libexec/sftp-server "$@"\n`,
    );
    const dropbear = byPath.get('/kmod-harness/bin/dropbear');
    expect(dropbear?.type === 'file' && elfInterpreter(Buffer.from(dropbear.data))).toBe(LOADER);
    expect(byPath.get(LOADER)?.type).toBe('file');
    expect(byPath.get('/kmod-harness/lib/libc.so.6')?.type).toBe('file');
    expect(byPath.get('/kmod-harness/bin/sh')).toEqual({ type: 'symlink', path: '/kmod-harness/bin/sh', target: 'busybox' });
    // net_failover first (virtio_net needs it), from the harness; virtio_net from the rootfs.
    expect(text('/etc/kmod-harness/modules')).toBe(
      `/kmod-harness/modules/kernel/drivers/net/net_failover.ko\n/lib/modules/${release}/kernel/drivers/net/virtio_net.ko\n`,
    );
    expect(text('/kmod-harness/modules/kernel/drivers/net/net_failover.ko')).toBe('net_failover, not in the rootfs');
    expect(selection.load).toEqual(['virtio_net']);
    expect(selection.builtin).toEqual(['virtio_pci']);
    expect(hostKeyPath).toBe('/kmod-harness/etc/dropbear_ed25519_host_key');
    expect(readCpio(read.archive).map((r) => r.path)).toContain('/lib/libc.so.0');
    // Directories come before what is in them.
    const firstFile = entries.findIndex((e) => e.type !== 'dir');
    expect(
      entries
        .slice(firstFile)
        .filter((e) => e.type === 'dir')
        .map((e) => e.path),
    ).toEqual(['/kmod-harness/etc']);
  });

  it('adds /etc/passwd only to a root that has none', async () => {
    const base = await writeBase(
      'no-passwd.cpio.gz',
      baseEntries().filter((e) => e.path !== '/etc/passwd'),
    );
    const { entries } = await composeOverlay({ release, modulesDir, baseInitramfs: base });
    expect(entries.map((e) => e.path)).toContain('/etc/passwd');
  });

  it("refuses a root without root's shell or without a root account", async () => {
    const noShell = await writeBase(
      'no-shell.cpio.gz',
      baseEntries().filter((e) => e.path !== '/usr/bin/sh'),
    );
    await expect(composeOverlay({ release, modulesDir, baseInitramfs: noShell })).rejects.toThrow(/has no \/bin\/sh, root's login shell/);
    const noRoot = await writeBase('no-root.cpio.gz', [
      ...baseEntries().filter((e) => e.path !== '/etc/passwd'),
      file('/etc/passwd', 'daemon:x:1:1::/:/bin/false\n'),
    ]);
    await expect(composeOverlay({ release, modulesDir, baseInitramfs: noRoot })).rejects.toThrow(UsageError);
  });

  it('refuses a file that is not a cpio archive', async () => {
    const bogus = path.join(work, 'rootfs.ext2');
    await writeFile(bogus, Buffer.alloc(2048, 0x41));
    await expect(composeOverlay({ release, modulesDir, baseInitramfs: bogus })).rejects.toThrow(/is not a newc cpio archive/);
  });

  it('buildImage: the base archive, decompressed, then the overlay; cached by both', async () => {
    const base = await writeBase('rootfs.cpio.gz', baseEntries());
    const cache = path.join(work, 'cache');
    const image = await buildImage({ release, modulesDir, baseInitramfs: base }, cache);
    const bytes = await readFile(image.initramfs);
    const baseArchive = writeCpio(baseEntries());
    expect(bytes.subarray(0, baseArchive.length).equals(baseArchive)).toBe(true);
    const records = readCpio(bytes);
    const inits = records.filter((r) => r.path === '/init').map((r) => r.data.toString());
    expect(inits).toHaveLength(2);
    expect(inits[1]).toMatch(/^#!\/kmod-harness\/bin\/sh/);
    expect(records.find((r) => r.path === '/kmod-harness/etc/dropbear_ed25519_host_key')?.mode).toBe(0o600);
    expect(image.hostKey).toMatch(/^ssh-ed25519 /);
    expect((await buildImage({ release, modulesDir, baseInitramfs: base }, cache)).hit).toBe(true);
    const other = await writeBase('other.cpio.gz', baseEntries([file('/etc/motd', 'changed')]));
    expect((await buildImage({ release, modulesDir, baseInitramfs: other }, cache)).hit).toBe(false);
  });
});
