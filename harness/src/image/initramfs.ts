// Composes the guest's initramfs: layout -> busybox -> dropbear + sftp-server with their
// shared libraries -> kernel modules -> /init. Cached by the content of everything in it.
// A kernel with a root filesystem of its own (Buildroot) gets that root with the harness laid
// over it instead (overlay.ts).
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cachedDir, cacheRoot } from '../cache/store.js';
import { privateDir, readJsonOr, writeFileAtomic } from '../util/files.js';
import { requireTool } from '../host/tools.js';
import { GUEST_DIR } from '../util/paths.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { renderModulesDep, type ModuleSelection } from './modules.js';
import { composeOverlay } from './overlay.js';
import { prepareGuestUserland, type GuestProgram, type GuestUserland } from './guest-userland.js';
import { archOf, isForeign } from '../arch.js';
import { HarnessError } from '../errors.js';
import type { Emit } from '../events.js';
import {
  busyboxApplets,
  contentKey,
  IMAGE_FORMAT,
  decompressModule,
  guestModules,
  makeHostKey,
  sharedLibraries,
  textFile,
  type FileEntry,
  type ImageKernel,
} from './parts.js';

export type { ImageKernel } from './parts.js';

/** The cache area of the images, and its dir of memos (input stamp -> image). */
export const IMAGES_AREA = 'images';
export const MEMO_DIR = 'memo';
/** The archive in an image entry, beside host_key.pub. */
export const IMAGE_FILE = 'initramfs.cpio';

export interface GuestImage {
  initramfs: string;
  /** The guest's SSH host key, 'ssh-ed25519 <base64>', for host-key verification. */
  hostKey: string;
  modules: ModuleSelection;
  hit: boolean;
}

const HOST_KEY = '/etc/dropbear/dropbear_ed25519_host_key';

/** Debian is usr-merged: keep /lib and /lib64 as links so every path has one real home. */
function usrPath(p: string): string {
  return p.replace(/^\/(lib|lib64|bin|sbin)\//, (_m, dir: string) => (dir.startsWith('lib') ? `/usr/${dir}/` : `/${dir}/`));
}

async function hostFile(hostPath: string, guestPath: string, mode: number): Promise<FileEntry> {
  return { type: 'file', path: usrPath(guestPath), data: await readFile(hostPath), mode };
}

async function binaryWithLibraries(hostPath: string, guestPath: string): Promise<FileEntry[]> {
  const files = [await hostFile(hostPath, guestPath, 0o755)];
  for (const lib of await sharedLibraries(hostPath)) files.push(await hostFile(lib, lib, 0o755));
  return files;
}

/** A guest program of another architecture and its libraries, from the guest userland's root. */
async function foreignBinary(program: GuestProgram, guestPath: string): Promise<FileEntry[]> {
  const files = [await hostFile(program.file, guestPath, 0o755)];
  for (const lib of program.libraries) files.push(await hostFile(lib.file, lib.guestPath, 0o755));
  return files;
}

/**
 * busybox and its applet links. The applet list is the host's busybox's (`--list-full`): a
 * foreign busybox cannot run here, and the guest userland's comes from the same suite.
 */
async function busyboxEntries(userland: GuestUserland | undefined): Promise<CpioEntry[]> {
  const busybox = await requireTool('busybox');
  const entries: CpioEntry[] = [await hostFile(userland?.busybox.file ?? busybox, '/bin/busybox', 0o755)];
  for (const applet of await busyboxApplets(busybox)) {
    const guestPath = usrPath(`/${applet}`);
    if (guestPath !== '/bin/busybox') entries.push({ type: 'symlink', path: guestPath, target: '/bin/busybox' });
  }
  return entries;
}

async function moduleEntries(kernel: ImageKernel): Promise<{ entries: CpioEntry[]; selection: ModuleSelection }> {
  const { selection, deps } = await guestModules(kernel);
  const base = `/lib/modules/${kernel.release}`;
  const entries: CpioEntry[] = [];
  for (const file of selection.files) {
    const data = await decompressModule(path.join(kernel.modulesDir, file));
    entries.push({ type: 'file', path: usrPath(`${base}/${file.replace(/\.ko\.(xz|zst|gz)$/, '.ko')}`), data, mode: 0o644 });
  }
  entries.push({ type: 'file', path: usrPath(`${base}/modules.dep`), data: Buffer.from(renderModulesDep(selection.files, deps)), mode: 0o644 });
  entries.push({ type: 'file', path: '/etc/kmod-harness/modules', data: Buffer.from(selection.load.join('\n') + '\n'), mode: 0o644 });
  return { entries, selection };
}

/** Every file of the image except the SSH host key, which is made when the entry is filled. */
async function compose(kernel: ImageKernel, userland: GuestUserland | undefined): Promise<{ entries: CpioEntry[]; selection: ModuleSelection }> {
  const modules = await moduleEntries(kernel);
  const ssh = userland
    ? [...(await foreignBinary(userland.dropbear, '/usr/sbin/dropbear')), ...(await foreignBinary(userland.sftpServer, '/usr/lib/sftp-server'))]
    : [
        ...(await binaryWithLibraries(await requireTool('dropbear'), '/usr/sbin/dropbear')),
        // dropbear execs its SFTP subsystem from this fixed path.
        ...(await binaryWithLibraries(await requireTool('sftp-server'), '/usr/lib/sftp-server')),
      ];
  const entries: CpioEntry[] = [
    { type: 'symlink', path: '/lib', target: 'usr/lib' },
    { type: 'symlink', path: '/lib64', target: 'usr/lib64' },
    { type: 'chardev', path: '/dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'chardev', path: '/dev/null', major: 1, minor: 3, mode: 0o666 },
    await hostFile(path.join(GUEST_DIR, 'init'), '/init', 0o755),
    ...(await busyboxEntries(userland)),
    ...ssh,
    textFile('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
    textFile('/etc/group', 'root:x:0:\ntty:x:5:\n'),
    textFile('/etc/shells', '/bin/sh\n'),
    textFile('/etc/hostname', 'kmod-harness\n'),
    ...modules.entries,
  ];
  return { entries: withParentDirs(entries), selection: modules.selection };
}

/** Directories first (the kernel's unpacker needs a parent before its children), deduplicated. */
function withParentDirs(entries: CpioEntry[]): CpioEntry[] {
  const dirs = new Set<string>(['/proc', '/sys', '/dev', '/tmp', '/root', '/run', '/mnt', '/etc/dropbear', '/var/log']);
  const seen = new Map<string, CpioEntry>();
  for (const entry of entries) {
    seen.set(entry.path, entry);
    for (let dir = path.posix.dirname(entry.path); dir !== '/'; dir = path.posix.dirname(dir)) dirs.add(dir);
  }
  for (const link of entries) if (link.type === 'symlink') dirs.delete(link.path);
  const dirEntries: CpioEntry[] = [...dirs]
    .filter((d) => !['/lib', '/lib64'].some((l) => d === l || d.startsWith(`${l}/`)))
    .sort()
    .map((d) => ({ type: 'dir', path: d, mode: d === '/root' ? 0o700 : d === '/tmp' ? 0o1777 : 0o755 }));
  return [...dirEntries, ...seen.values()];
}

/**
 * The guest's initramfs for `kernel`, cached by content. With `kernel.baseInitramfs` it is that
 * archive (decompressed) followed by the harness's overlay; else the harness's own root.
 */
/**
 * A cheap fingerprint of the image's inputs (sizes and mtimes, not contents), remembered next
 * to the content-keyed entry it produced: a warm run skips reading and hashing ~7 MB.
 */
async function inputStamp(kernel: ImageKernel, userland: GuestUserland | undefined): Promise<string> {
  const files = [
    ...(userland ? [userland.busybox.file, userland.dropbear.file, userland.sftpServer.file] : []),
    path.join(GUEST_DIR, 'init'),
    path.join(GUEST_DIR, 'modules.txt'),
    path.join(kernel.modulesDir, 'modules.dep'),
    ...(kernel.baseInitramfs ? [kernel.baseInitramfs] : []),
    ...(await Promise.all((['busybox', 'dropbear', 'sftp-server'] as const).map((t) => requireTool(t)))),
  ];
  const stats = await Promise.all(
    files.map((f) =>
      stat(f).then(
        (s) => `${f} ${s.size} ${s.mtimeMs}`,
        () => `${f} -`,
      ),
    ),
  );
  return createHash('sha256')
    .update(`v${IMAGE_FORMAT} ${kernel.release} ${archOf(kernel)}\n${stats.join('\n')}`)
    .digest('hex')
    .slice(0, 24);
}

export async function buildImage(kernel: ImageKernel, root: string = cacheRoot(), options: { emit?: Emit; signal?: AbortSignal } = {}): Promise<GuestImage> {
  // Every image holds its guest's SSH host key: the area is the user's alone (chmod'ed on a
  // hit too, for caches made before it was).
  await privateDir(path.join(root, IMAGES_AREA));
  const arch = archOf(kernel);
  const userland = isForeign(arch) ? await prepareGuestUserland(arch, { cacheRoot: root, ...options }) : undefined;
  const memoFile = path.join(root, IMAGES_AREA, MEMO_DIR, `${await inputStamp(kernel, userland)}.json`);
  const memo = await readJsonOr<{ dir: string; modules: ModuleSelection }>(memoFile);
  if (memo && (await stat(path.join(memo.dir, IMAGE_FILE)).catch(() => undefined))) {
    const hostKey = (await readFile(path.join(memo.dir, 'host_key.pub'), 'utf8')).trim();
    return { initramfs: path.join(memo.dir, IMAGE_FILE), hostKey, modules: memo.modules, hit: true };
  }
  const image = await composeAndCache(kernel, root, userland);
  await writeFileAtomic(memoFile, JSON.stringify({ dir: path.dirname(image.initramfs), modules: image.modules }));
  return image;
}

async function composeAndCache(kernel: ImageKernel, root: string, userland: GuestUserland | undefined): Promise<GuestImage> {
  if (kernel.baseInitramfs && userland) {
    throw new HarnessError('E_IMAGE', 'infra-error', `a base root filesystem (${kernel.baseInitramfs}) for an ${userland.arch} kernel is not supported`, {
      fix: 'use a Debian arm64 kernel (e.g. --kernel 6.1/arm64), whose guest root the harness makes itself',
    });
  }
  const composed = kernel.baseInitramfs
    ? await composeOverlay({ ...kernel, baseInitramfs: kernel.baseInitramfs })
    : { ...(await compose(kernel, userland)), base: undefined, hostKeyPath: HOST_KEY };
  const { entries, selection, base, hostKeyPath } = composed;
  const key = `${kernel.release}-${contentKey(entries, base ? `base ${base.hash}\n` : '')}`;
  const { dir, hit } = await cachedDir(
    IMAGES_AREA,
    key,
    async (tmp) => {
      const hostKey = await makeHostKey(tmp);
      const all: CpioEntry[] = [...entries, { type: 'file', path: hostKeyPath, data: hostKey.privateKey, mode: 0o600 }];
      // Concatenated archives are one initramfs to the kernel; later entries win.
      // 0600 like the key inside it: QEMU runs as this user.
      await writeFile(path.join(tmp, IMAGE_FILE), base ? Buffer.concat([base.archive, writeCpio(all)]) : writeCpio(all), { mode: 0o600, flag: 'wx' });
      await writeFile(path.join(tmp, 'host_key.pub'), `${hostKey.publicKey}\n`);
    },
    root,
    { what: `the guest image of ${kernel.release}` },
  );
  const hostKey = (await readFile(path.join(dir, 'host_key.pub'), 'utf8')).trim();
  return { initramfs: path.join(dir, IMAGE_FILE), hostKey, modules: selection, hit };
}
