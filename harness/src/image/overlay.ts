// The harness laid over a root filesystem it did not make (Buildroot's rootfs.cpio): the
// root's archive, then a second archive with the harness's /init and everything else under
// /kmod-harness, so the root's /lib, libc and tools stay as they are. dropbear and
// sftp-server bring the host's glibc and its loader along into /kmod-harness/lib.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { execa } from 'execa';
import { UsageError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { GUEST_DIR } from '../util/paths.js';
import { CpioFormatError, readCpio, type CpioEntry, type CpioRecord } from './cpio.js';
import { elfInterpreter, withInterpreter } from './elf.js';
import { dependencyOrder, type ModuleSelection } from './modules.js';
import { busyboxApplets, decompressModule, guestModules, sharedLibraries, textFile, type FileEntry, type ImageKernel } from './parts.js';

export const PREFIX = '/kmod-harness';
// The loader's path goes into dropbear's PT_INTERP, in place of '/lib64/ld-linux-x86-64.so.2':
// it must not be longer than that.
export const LOADER = `${PREFIX}/lib/ld.so`;
export const OVERLAY_HOST_KEY = `${PREFIX}/etc/dropbear_ed25519_host_key`;
// dropbear runs its SFTP subsystem from this fixed path, through root's shell.
const SFTP_PATH = '/usr/lib/sftp-server';

export interface BaseRoot {
  /** The decompressed archive, NUL-padded to 4 bytes so the next archive starts aligned. */
  archive: Buffer;
  /** sha256 of the file as given: part of the image's cache key. */
  hash: string;
  records: CpioRecord[];
}

async function decompress(file: string, data: Buffer): Promise<Buffer> {
  if (data[0] === 0x1f && data[1] === 0x8b) return promisify(gunzip)(data);
  const tool = data.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) ? 'xz' : data.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : undefined;
  if (!tool) return data;
  return Buffer.from((await execa(await requireTool(tool), ['-dc', file], { encoding: 'buffer', maxBuffer: 4 * 1024 ** 3 })).stdout);
}

export async function readBaseRoot(file: string): Promise<BaseRoot> {
  const raw = await readFile(file);
  const archive = await decompress(file, raw);
  let records: CpioRecord[];
  try {
    records = readCpio(archive);
  } catch (error) {
    if (!(error instanceof CpioFormatError)) throw error;
    throw new UsageError(`${file} is not a newc cpio archive (plain, gzip, xz or zstd): ${error.message}`, {
      fix: 'point at the cpio image Buildroot made (BR2_TARGET_ROOTFS_CPIO), not another format',
      cause: error,
    });
  }
  const padded = archive.length % 4 === 0 ? archive : Buffer.concat([archive, Buffer.alloc(4 - (archive.length % 4))]);
  return { archive: padded, hash: createHash('sha256').update(raw).digest('hex'), records };
}

/** Paths of the base root, looked up the way the kernel's unpacker walks them: through its symlinks. */
export class BaseTree {
  private readonly byPath = new Map<string, CpioRecord>();

  constructor(records: CpioRecord[]) {
    for (const r of records) {
      this.byPath.set(r.path, r);
      // An archive may name a file before (or without) its directories.
      for (let d = path.posix.dirname(r.path); d !== '/' && !this.byPath.has(d); d = path.posix.dirname(d))
        this.byPath.set(d, { path: d, type: 'dir', mode: 0o755, data: Buffer.alloc(0) });
    }
  }

  /** The path `p` ends up at after following symlinks, if it exists in the base. */
  resolve(p: string, depth = 0): string | undefined {
    if (depth > 40) return undefined;
    const parts = p.split('/').filter((s) => s && s !== '.');
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '..') {
        cur = cur.slice(0, cur.lastIndexOf('/'));
        continue;
      }
      const next = `${cur}/${part}`;
      const record = this.byPath.get(next);
      if (!record) return undefined;
      if (record.type === 'symlink') {
        const target = record.data.toString('utf8');
        return this.resolve([target.startsWith('/') ? target : `${cur}/${target}`, ...parts.slice(i + 1)].join('/'), depth + 1);
      }
      cur = next;
    }
    return cur || '/';
  }

  lookup(p: string): CpioRecord | undefined {
    const resolved = this.resolve(p);
    if (resolved === '/') return { path: '/', type: 'dir', mode: 0o755, data: Buffer.alloc(0) };
    return resolved ? this.byPath.get(resolved) : undefined;
  }

  /** Whether `p` exists in the base as anything, a symlink (even dangling) included. */
  has(p: string): boolean {
    return this.byPath.has(p) || this.lookup(p) !== undefined;
  }
}

/** Root's login shell and home from the base's /etc/passwd (dropbear runs every command with it). */
export function rootAccount(passwd: string | undefined): { shell: string; home: string } | undefined {
  for (const line of (passwd ?? '').split('\n')) {
    const f = line.split(':');
    if (f[0] === 'root' && f.length >= 7) return { home: f[5] || '/', shell: f[6] || '/bin/sh' };
  }
  return undefined;
}

/** The guest's /init, run by the harness's own static busybox, not the root's shell. */
export function overlayInit(init: string): string {
  return init.replace(/^#!\/bin\/sh\b/, `#!${PREFIX}/bin/sh`);
}

/** A host binary and its libraries under PREFIX: the binary, its loader at LOADER, its libraries in lib/. */
async function privateBinary(hostPath: string, guestPath: string, patchInterpreter: boolean): Promise<FileEntry[]> {
  const elf = await readFile(hostPath);
  const interpreter = elfInterpreter(elf);
  const files: FileEntry[] = [{ type: 'file', path: guestPath, data: patchInterpreter && interpreter ? withInterpreter(elf, LOADER) : elf, mode: 0o755 }];
  for (const lib of await sharedLibraries(hostPath)) {
    const guest = lib === interpreter ? LOADER : `${PREFIX}/lib/${path.posix.basename(lib)}`;
    files.push({ type: 'file', path: guest, data: await readFile(lib), mode: 0o755 });
  }
  return files;
}

async function busyboxEntries(): Promise<CpioEntry[]> {
  const busybox = await requireTool('busybox');
  const names = new Set((await busyboxApplets(busybox)).map((a) => path.posix.basename(a)));
  names.delete('busybox');
  return [
    { type: 'file', path: `${PREFIX}/bin/busybox`, data: await readFile(busybox), mode: 0o755 },
    ...[...names].sort().map((n): CpioEntry => ({ type: 'symlink', path: `${PREFIX}/bin/${n}`, target: 'busybox' })),
  ];
}

/**
 * The virtio modules, in insmod order, by absolute path: the base root's own copy when it has
 * the module uncompressed at /lib/modules/<release>/, else a copy under PREFIX/modules.
 */
async function moduleEntries(kernel: ImageKernel, tree: BaseTree): Promise<{ entries: CpioEntry[]; selection: ModuleSelection }> {
  const { selection, deps } = await guestModules(kernel);
  const entries: CpioEntry[] = [];
  const paths: string[] = [];
  for (const file of dependencyOrder(selection.files, deps)) {
    const inBase = `/lib/modules/${kernel.release}/${file}`;
    if (file.endsWith('.ko') && tree.lookup(inBase)?.type === 'file') {
      paths.push(inBase);
      continue;
    }
    const own = `${PREFIX}/modules/${file.replace(/\.ko\.(xz|zst|gz)$/, '.ko')}`;
    entries.push({ type: 'file', path: own, data: await decompressModule(path.join(kernel.modulesDir, file)), mode: 0o644 });
    paths.push(own);
  }
  entries.push(textFile('/etc/kmod-harness/modules', paths.map((p) => `${p}\n`).join('')));
  return { entries, selection };
}

/**
 * Directories the overlay's entries need that the base lacks, first, then the entries. A path
 * the base has (a directory, or a symlink such as /lib -> usr/lib) gets no entry: the kernel
 * would replace a symlink with an empty directory.
 */
export function overlayEntries(entries: CpioEntry[], tree: BaseTree): CpioEntry[] {
  const dirs = new Set<string>(['/proc', '/sys', '/dev', '/tmp', '/run', '/root'].filter((d) => !tree.has(d)));
  for (const entry of entries) {
    for (let dir = path.posix.dirname(entry.path); dir !== '/'; dir = path.posix.dirname(dir)) if (!tree.has(dir)) dirs.add(dir);
  }
  const nodes: CpioEntry[] = [];
  if (!tree.has('/dev/console')) nodes.push({ type: 'chardev', path: '/dev/console', major: 5, minor: 1, mode: 0o600 });
  if (!tree.has('/dev/null')) nodes.push({ type: 'chardev', path: '/dev/null', major: 1, minor: 3, mode: 0o666 });
  const dirEntries = [...dirs].sort().map((d): CpioEntry => ({ type: 'dir', path: d, mode: d === '/root' ? 0o700 : d === '/tmp' ? 0o1777 : 0o755 }));
  return [...dirEntries, ...nodes, ...new Map(entries.map((e) => [e.path, e])).values()];
}

export interface ComposedOverlay {
  entries: CpioEntry[];
  selection: ModuleSelection;
  base: BaseRoot;
  hostKeyPath: string;
}

/** Every entry of the overlay except the SSH host key (made when the image is cached), and the base. */
export async function composeOverlay(kernel: ImageKernel & { baseInitramfs: string }): Promise<ComposedOverlay> {
  const base = await readBaseRoot(kernel.baseInitramfs);
  const tree = new BaseTree(base.records);
  const passwd = tree.lookup('/etc/passwd');
  const account = rootAccount(passwd?.type === 'file' ? passwd.data.toString('utf8') : undefined);
  if (passwd && !account) {
    throw new UsageError(`${kernel.baseInitramfs}: /etc/passwd has no root account`, {
      fix: 'the harness logs in as root over SSH: keep the root entry Buildroot makes',
    });
  }
  const shell = account?.shell ?? '/bin/sh';
  if (!tree.lookup(shell)) {
    throw new UsageError(`${kernel.baseInitramfs} has no ${shell}, root's login shell`, {
      fix: "dropbear runs the harness's commands with root's shell: keep BusyBox (or another /bin/sh) in the root filesystem",
    });
  }
  const modules = await moduleEntries(kernel, tree);
  const sftp = await requireTool('sftp-server');
  const own: CpioEntry[] = [
    // The host key goes here when the image is cached.
    { type: 'dir', path: path.posix.dirname(OVERLAY_HOST_KEY), mode: 0o700 },
    textFile('/init', overlayInit(await readFile(path.join(GUEST_DIR, 'init'), 'utf8')), 0o755),
    ...(await busyboxEntries()),
    // Patched to find its loader under PREFIX: dropbear re-executes itself per connection.
    ...(await privateBinary(await requireTool('dropbear'), `${PREFIX}/bin/dropbear`, true)),
    ...(await privateBinary(sftp, `${PREFIX}/libexec/sftp-server`, false)),
    textFile(SFTP_PATH, `#!${PREFIX}/bin/sh\nexec ${LOADER} --library-path ${PREFIX}/lib ${PREFIX}/libexec/sftp-server "$@"\n`, 0o755),
    ...modules.entries,
    // Only where the root has none: the root's own accounts are left alone.
    ...(passwd ? [] : [textFile('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'), textFile('/etc/group', 'root:x:0:\ntty:x:5:\n')]),
  ];
  return { entries: overlayEntries(own, tree), selection: modules.selection, base, hostKeyPath: OVERLAY_HOST_KEY };
}
