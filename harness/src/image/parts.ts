// Pieces both guest images are made of: host binaries and their libraries, the virtio
// modules a kernel needs, the SSH host key, the content hash that names a cached image.
import { createHash } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Arch } from '../arch.js';
import { HarnessError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { GUEST_DIR } from '../util/paths.js';
import type { CpioEntry } from './cpio.js';
import { parseBuiltin, parseModulesDep, selectModules, type ModuleDep, type ModuleSelection } from './modules.js';

// Bump when the image layout changes in a way the content hash cannot see.
export const IMAGE_FORMAT = 1;

export interface ImageKernel {
  release: string;
  /** The guest's architecture (absent: amd64): another than the host's takes its programs from its own packages. */
  arch?: Arch | undefined;
  modulesDir: string;
  /** A root filesystem archive to lay the harness over (Buildroot); absent: the harness's own root. */
  baseInitramfs?: string | undefined;
}

export type FileEntry = Extract<CpioEntry, { type: 'file' }>;

/** The shared libraries (and the ELF interpreter) a host binary needs, by ldd. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const ldd = await requireTool('ldd');
  const { stdout } = await execa(ldd, [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** busybox applets as `--list-full` gives them ('bin/sh', 'usr/sbin/ip', 'linuxrc'). */
export async function busyboxApplets(busybox: string): Promise<string[]> {
  const { stdout } = await execa(busybox, ['--list-full']);
  return stdout.split('\n').filter(Boolean);
}

export async function decompressModule(file: string): Promise<Uint8Array> {
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) return readFile(file);
  return (await execa(await requireTool(tool), ['-dc', file], { encoding: 'buffer' })).stdout;
}

/** The kernel's modules for the guest's network (images/guest/modules.txt), with their dependencies. */
export async function guestModules(kernel: ImageKernel): Promise<{ selection: ModuleSelection; deps: Map<string, ModuleDep> }> {
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
  return { selection, deps };
}

export function textFile(p: string, content: string, mode = 0o644): FileEntry {
  return { type: 'file', path: p, data: Buffer.from(content), mode };
}

/** Hex digits of contentKey(): an image entry is named `<release>-<contentKey>`. */
export const CONTENT_KEY_LENGTH = 24;

/** A short hash of every entry (and of `extra`, e.g. the base archive's hash): the image's cache key. */
export function contentKey(entries: CpioEntry[], extra = ''): string {
  const hash = createHash('sha256').update(`kmod-harness image v${IMAGE_FORMAT}\n${extra}`);
  for (const e of entries) {
    hash.update(`${e.type} ${e.path} ${'mode' in e ? e.mode : ''}\n`);
    if (e.type === 'file') hash.update(e.data);
    if (e.type === 'symlink') hash.update(e.target);
    if (e.type === 'chardev') hash.update(`${e.major}:${e.minor}`);
  }
  return hash.digest('hex').slice(0, CONTENT_KEY_LENGTH);
}

export async function makeHostKey(dir: string): Promise<{ privateKey: Buffer; publicKey: string }> {
  const dropbearkey = await requireTool('dropbearkey');
  const file = path.join(dir, 'host_key');
  await execa(dropbearkey, ['-t', 'ed25519', '-f', file]);
  // dropbearkey makes it 0600 today; a secret's mode is not left to another tool's habits.
  await chmod(file, 0o600);
  const { stdout } = await execa(dropbearkey, ['-y', '-f', file]);
  const line = stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (!line) throw new HarnessError('E_IMAGE', 'infra-error', `dropbearkey printed no public key:\n${stdout}`);
  return { privateKey: await readFile(file), publicKey: line.split(' ').slice(0, 2).join(' ') };
}
