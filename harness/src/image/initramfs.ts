// Composes the guest's initramfs: layout -> busybox -> dropbear + sftp-server with their
// shared libraries -> kernel modules -> /init. Cached by the content of everything in it.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir } from '../cache.js';
import { HarnessError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { GUEST_DIR } from '../paths.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { parseBuiltin, parseModulesDep, renderModulesDep, selectModules, type ModuleSelection } from './modules.js';

// Bump when the image layout changes in a way the content hash cannot see.
const IMAGE_FORMAT = 1;

export interface GuestImage {
  initramfs: string;
  /** The guest's SSH host key, 'ssh-ed25519 <base64>', for host-key verification. */
  hostKey: string;
  modules: ModuleSelection;
  hit: boolean;
}

export interface ImageKernel {
  release: string;
  modulesDir: string;
}

type FileEntry = Extract<CpioEntry, { type: 'file' }>;

/** Debian is usr-merged: keep /lib and /lib64 as links so every path has one real home. */
function usrPath(p: string): string {
  return p.replace(/^\/(lib|lib64|bin|sbin)\//, (_m, dir: string) => (dir.startsWith('lib') ? `/usr/${dir}/` : `/${dir}/`));
}

async function hostFile(hostPath: string, guestPath: string, mode: number): Promise<FileEntry> {
  return { type: 'file', path: usrPath(guestPath), data: await readFile(hostPath), mode };
}

/** The shared libraries (and the ELF interpreter) a host binary needs, by ldd. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const ldd = await requireTool('ldd');
  const { stdout } = await execa(ldd, [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

async function binaryWithLibraries(hostPath: string, guestPath: string): Promise<FileEntry[]> {
  const files = [await hostFile(hostPath, guestPath, 0o755)];
  for (const lib of await sharedLibraries(hostPath)) files.push(await hostFile(lib, lib, 0o755));
  return files;
}

async function busyboxEntries(): Promise<CpioEntry[]> {
  const busybox = await requireTool('busybox');
  const { stdout } = await execa(busybox, ['--list-full']);
  const entries: CpioEntry[] = [await hostFile(busybox, '/bin/busybox', 0o755)];
  for (const applet of stdout.split('\n').filter(Boolean)) {
    const guestPath = usrPath(`/${applet}`);
    if (guestPath !== '/bin/busybox') entries.push({ type: 'symlink', path: guestPath, target: '/bin/busybox' });
  }
  return entries;
}

async function decompressModule(file: string): Promise<Uint8Array> {
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) return readFile(file);
  return (await execa(await requireTool(tool), ['-dc', file], { encoding: 'buffer' })).stdout;
}

async function moduleEntries(kernel: ImageKernel): Promise<{ entries: CpioEntry[]; selection: ModuleSelection }> {
  const wanted = (await readFile(path.join(GUEST_DIR, 'modules.txt'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const depText = await readFile(path.join(kernel.modulesDir, 'modules.dep'), 'utf8');
  const builtinText = await readFile(path.join(kernel.modulesDir, 'modules.builtin'), 'utf8').catch(() => '');
  const deps = parseModulesDep(depText);
  const selection = selectModules(wanted, deps, parseBuiltin(builtinText));
  if (selection.missing.includes('virtio_net')) {
    throw new HarnessError('E_IMAGE', 'infra-error', `kernel ${kernel.release} has no virtio_net driver, neither built in nor as a module`, {
      fix: 'use a kernel configured with CONFIG_VIRTIO_NET (Debian cloud-amd64 and generic amd64 kernels have it)',
    });
  }
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

function text(p: string, content: string, mode = 0o644): FileEntry {
  return { type: 'file', path: p, data: Buffer.from(content), mode };
}

/** Every file of the image except the SSH host key, which is made when the entry is filled. */
async function compose(kernel: ImageKernel): Promise<{ entries: CpioEntry[]; selection: ModuleSelection }> {
  const sftp = await requireTool('sftp-server');
  const dropbear = await requireTool('dropbear');
  const modules = await moduleEntries(kernel);
  const entries: CpioEntry[] = [
    { type: 'symlink', path: '/lib', target: 'usr/lib' },
    { type: 'symlink', path: '/lib64', target: 'usr/lib64' },
    { type: 'chardev', path: '/dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'chardev', path: '/dev/null', major: 1, minor: 3, mode: 0o666 },
    await hostFile(path.join(GUEST_DIR, 'init'), '/init', 0o755),
    ...(await busyboxEntries()),
    ...(await binaryWithLibraries(dropbear, '/usr/sbin/dropbear')),
    // dropbear execs its SFTP subsystem from this fixed path.
    ...(await binaryWithLibraries(sftp, '/usr/lib/sftp-server')),
    text('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'),
    text('/etc/group', 'root:x:0:\ntty:x:5:\n'),
    text('/etc/shells', '/bin/sh\n'),
    text('/etc/hostname', 'kmod-harness\n'),
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

function contentKey(entries: CpioEntry[]): string {
  const hash = createHash('sha256').update(`kmod-harness image v${IMAGE_FORMAT}\n`);
  for (const e of entries) {
    hash.update(`${e.type} ${e.path} ${'mode' in e ? e.mode : ''}\n`);
    if (e.type === 'file') hash.update(e.data);
    if (e.type === 'symlink') hash.update(e.target);
    if (e.type === 'chardev') hash.update(`${e.major}:${e.minor}`);
  }
  return hash.digest('hex').slice(0, 24);
}

async function makeHostKey(dir: string): Promise<{ privateKey: Buffer; publicKey: string }> {
  const dropbearkey = await requireTool('dropbearkey');
  const file = path.join(dir, 'host_key');
  await execa(dropbearkey, ['-t', 'ed25519', '-f', file]);
  const { stdout } = await execa(dropbearkey, ['-y', '-f', file]);
  const line = stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (!line) throw new HarnessError('E_IMAGE', 'infra-error', `dropbearkey printed no public key:\n${stdout}`);
  return { privateKey: await readFile(file), publicKey: line.split(' ').slice(0, 2).join(' ') };
}

export async function buildImage(kernel: ImageKernel, root?: string): Promise<GuestImage> {
  const { entries, selection } = await compose(kernel);
  const key = `${kernel.release}-${contentKey(entries)}`;
  const { dir, hit } = await cachedDir(
    'images',
    key,
    async (tmp) => {
      const hostKey = await makeHostKey(tmp);
      const all: CpioEntry[] = [...entries, { type: 'file', path: '/etc/dropbear/dropbear_ed25519_host_key', data: hostKey.privateKey, mode: 0o600 }];
      await writeFile(path.join(tmp, 'initramfs.cpio'), writeCpio(all));
      await writeFile(path.join(tmp, 'host_key.pub'), `${hostKey.publicKey}\n`);
    },
    root,
  );
  const hostKey = (await readFile(path.join(dir, 'host_key.pub'), 'utf8')).trim();
  return { initramfs: path.join(dir, 'initramfs.cpio'), hostKey, modules: selection, hit };
}
