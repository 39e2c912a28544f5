// Snapshots of a booted guest, one per boot configuration, in the cache area `snapshots/`. A
// guest booted with `kmod_harness.key=console` stops in its init before anything of the run's
// is in it (no key, no SSH server, no connection): that moment is saved, RAM and device state,
// and every later boot of the same configuration restores it and then hands over the run's
// secrets on the console. The key is everything QEMU is given (its argv with the per-run parts
// left out, the identities of the QEMU binary, kernel and initramfs files, the host CPU under
// KVM): a snapshot is never used across a change of any of them.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, realpath, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, discardEntry, type CachedDirOptions } from '../cache/store.js';
import { HarnessError } from '../errors.js';
import { onTeardown } from '../util/lifecycle.js';
import { qemuArgs, type QemuOptions, type RamFile } from '../qemu/args.js';

export const SNAPSHOTS_AREA = 'snapshots';

/** What a guest booted for a snapshot prints once it waits for the run's secrets on the console. */
export const WAITING_MARKER = 'KMOD-HARNESS-WAITING';

export const STATE_FILE = 'state';
export const RAM_FILE = 'ram';
export const CONSOLE_FILE = 'console.log';
export const META_FILE = 'meta.json';

/** Raised when saving or restoring a snapshot fails: the boot goes on cold, with a warning. */
export class SnapshotError extends HarnessError {
  constructor(message: string, options: { cause?: unknown; detail?: string } = {}) {
    super('E_SNAPSHOT', 'infra-error', message, {
      ...options,
      fix: 'the run booted cold instead; --no-snapshot (vm.snapshot: false) turns snapshots off, `kmod-harness cache prune` removes them',
    });
  }
}

/** What is recorded beside a snapshot: what it was made from, for `cache` and prune. */
export interface SnapshotMeta {
  label: string;
  kernel: string;
  initrd: string;
  qemu: string;
  argv: string[];
  createdAt: string;
  /** Cold boot to the waiting marker, ms. */
  bootMs: number;
  /** Bytes of the RAM file on disk (it is sparse) and of the device state. */
  ramBytes: number;
  stateBytes: number;
}

export interface Snapshot {
  dir: string;
  key: string;
  state: string;
  ram: string;
  console: string;
}

/** The parts of a QEMU command line that differ between runs of one boot configuration. */
const PER_RUN = { sshPort: 0, ramFile: { path: '<ram>', share: true }, qmpSocket: '<qmp>', incoming: false } as const;

/** The argv a snapshot of these options is keyed by: qemuArgs without the port, the RAM file's path and the QMP socket. */
export function snapshotArgv(o: Omit<QemuOptions, 'sshPort' | 'ramFile' | 'qmpSocket' | 'incoming'>): string[] {
  return qemuArgs({ ...o, ...PER_RUN });
}

export interface SnapshotIdentity {
  argv: string[];
  /** fileIdentity() of the QEMU binary, the kernel and the initramfs. */
  files: string[];
  /** The host CPU under KVM (`-cpu host` is the host's): a snapshot does not move between CPUs. */
  hostCpu?: string;
}

/** The cache key of a boot configuration: `<label>-<digest>`. */
export function snapshotKey(label: string, identity: SnapshotIdentity): string {
  const digest = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 24);
  return `${label.replace(/[^A-Za-z0-9._+-]/g, '_')}-${digest}`;
}

/**
 * A file as the key sees it: its real path, size, modification time and inode. Any rewrite
 * changes one of them; hashing the kernel and initramfs (~20 MB) at every boot would cost more
 * than the restore itself.
 */
export async function fileIdentity(file: string): Promise<string> {
  const real = await realpath(file);
  const s = await stat(real);
  return `${real}:${s.size}:${s.mtimeMs}:${s.ino}`;
}

/** The host CPU's model and flags, digested: part of a KVM snapshot's key. */
export async function hostCpuIdentity(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const lines = info.split('\n').filter((l) => /^(model name|flags|Features|CPU implementer|CPU part)\s*:/.test(l));
  return createHash('sha256')
    .update([...new Set(lines)].join('\n'))
    .digest('hex')
    .slice(0, 16);
}

export function snapshotPaths(dir: string, key: string): Snapshot {
  return { dir, key, state: path.join(dir, STATE_FILE), ram: path.join(dir, RAM_FILE), console: path.join(dir, CONSOLE_FILE) };
}

/** The published snapshot of `key`, if there is one. */
export async function findSnapshot(root: string, key: string): Promise<Snapshot | undefined> {
  const dir = path.join(root, SNAPSHOTS_AREA, key);
  const meta = await stat(path.join(dir, META_FILE)).catch(() => undefined);
  return meta ? snapshotPaths(dir, key) : undefined;
}

/** Remove a snapshot that failed to restore, so that the next boot makes a new one. */
export async function discardSnapshot(snapshot: Snapshot): Promise<void> {
  await discardEntry(snapshot.dir);
}

/** Room a RAM file needs beyond the guest's memory: tmpfs metadata, other users of /dev/shm. */
const SHM_MARGIN_BYTES = 64 << 20;

/**
 * Where a snapshot's guest RAM lives while its cold boot runs, mapped shared: /dev/shm when it
 * has room for all of it (a RAM file on disk would write every page the boot touches back to
 * the disk; init_on_free touches them all), else beside the entry being filled. Containers
 * often give /dev/shm only 64 MiB.
 */
export async function ramDirFor(memoryMiB: number, fallbackDir: string, shm = '/dev/shm'): Promise<string> {
  const fs = await statfs(shm).catch(() => undefined);
  return fs && fs.bavail * fs.bsize >= memoryMiB * (1 << 20) + SHM_MARGIN_BYTES ? shm : fallbackDir;
}

/** A private RAM file name for a snapshot's cold boot, removed (at teardown too, if the run dies) once copied into the entry. */
export function tempRamFile(dir: string): { ramFile: RamFile; remove: () => Promise<void> } {
  const file = path.join(dir, `kmod-harness-${process.pid}-${randomBytes(6).toString('hex')}.ram`);
  const remove = onTeardown(() => rm(file, { force: true }));
  return { ramFile: { path: file, share: true }, remove };
}

/** What a cold boot for a snapshot hands back once the guest waits: its console so far and how long it took. */
export interface SavedBoot {
  console: Buffer;
  bootMs: number;
}

export interface CreateSnapshotOptions {
  root: string;
  key: string;
  memoryMiB: number;
  meta: Omit<SnapshotMeta, 'createdAt' | 'bootMs' | 'ramBytes' | 'stateBytes'>;
  lock?: CachedDirOptions;
}

/**
 * Fill the snapshot entry `key`: `bootAndSave` boots a guest to its waiting marker with RAM in
 * the given file and writes its device state to the given path. The RAM is then copied into
 * the entry sparsely (a booted 512 MiB guest holds ~80 MB that are not zero). Concurrent runs
 * of one configuration make it once; the others wait and restore it.
 */
export async function createSnapshot(
  o: CreateSnapshotOptions,
  bootAndSave: (ramFile: RamFile, stateFile: string) => Promise<SavedBoot>,
): Promise<{ snapshot: Snapshot; hit: boolean }> {
  const { dir, hit } = await cachedDir(
    SNAPSHOTS_AREA,
    o.key,
    async (tmp) => {
      const temp = tempRamFile(await ramDirFor(o.memoryMiB, tmp));
      try {
        const state = path.join(tmp, STATE_FILE);
        const saved = await bootAndSave(temp.ramFile, state);
        const ram = path.join(tmp, RAM_FILE);
        if (temp.ramFile.path !== ram) {
          const copied = await execa('cp', ['--sparse=always', temp.ramFile.path, ram], { reject: false, timeout: 120_000, stdin: 'ignore' });
          if (copied.exitCode !== 0) throw new SnapshotError(`could not copy the snapshot's RAM into the cache: ${copied.stderr.trim()}`);
        }
        await writeFile(path.join(tmp, CONSOLE_FILE), saved.console);
        const meta: SnapshotMeta = {
          ...o.meta,
          createdAt: new Date().toISOString(),
          bootMs: saved.bootMs,
          ramBytes: (await stat(ram)).blocks * 512,
          stateBytes: (await stat(state)).size,
        };
        await writeFile(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
      } finally {
        await temp.remove();
      }
    },
    o.root,
    { what: `the snapshot ${o.key}`, ...o.lock },
  );
  if (!hit) await sweepSnapshots(o.root, o.key).catch(() => {});
  return { snapshot: snapshotPaths(dir, o.key), hit };
}

/** Snapshots kept at most (each ~80 MB for a 512 MiB guest): the least recently used go first. */
export const MAX_SNAPSHOTS = 24;

/** Note a restore: the sweep keeps the snapshots used last. Best effort. */
export async function touchSnapshot(snapshot: Snapshot): Promise<void> {
  const now = new Date();
  await utimes(path.join(snapshot.dir, META_FILE), now, now).catch(() => {});
}

/**
 * After a new snapshot: remove those no boot can use any more (their kernel, image or QEMU is
 * gone: a kernel of a temporary tree, an image remade), then the least recently used beyond
 * MAX_SNAPSHOTS. Never `keep`, the one just made.
 */
export async function sweepSnapshots(root: string, keep: string, max = MAX_SNAPSHOTS): Promise<void> {
  const area = path.join(root, SNAPSHOTS_AREA);
  const names = (await readdir(area)).filter((n) => !n.startsWith('.') && n !== keep);
  const usable: Array<{ dir: string; usedMs: number }> = [];
  for (const name of names) {
    const dir = path.join(area, name);
    const meta = await readSnapshotMeta(dir);
    if (!meta || (await missingInput(meta)) !== undefined) await discardEntry(dir);
    else usable.push({ dir, usedMs: (await stat(path.join(dir, META_FILE))).mtimeMs });
  }
  usable.sort((a, b) => b.usedMs - a.usedMs);
  for (const { dir } of usable.slice(Math.max(0, max - 1))) await discardEntry(dir);
}

/** The files a snapshot was made from: without any of them no boot can use it. */
export function snapshotInputs(meta: SnapshotMeta): string[] {
  return [meta.kernel, meta.initrd, meta.qemu];
}

/** The first of a snapshot's inputs that is gone, if one is. */
export async function missingInput(meta: SnapshotMeta): Promise<string | undefined> {
  const inputs = snapshotInputs(meta);
  const present = await Promise.all(
    inputs.map((f) =>
      stat(f).then(
        () => true,
        () => false,
      ),
    ),
  );
  return inputs.find((_, i) => !present[i]);
}

export async function readSnapshotMeta(dir: string): Promise<SnapshotMeta | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, META_FILE), 'utf8')) as SnapshotMeta;
  } catch {
    return undefined;
  }
}

/** The secrets a restored guest gets on its console: one line, read by images/guest/init. */
export interface RunSecrets {
  publicBlob: string;
  /** Unix time, s: the guest's clock resumes at the snapshot's. */
  now: number;
  /** Distinct per restore: the guest's /run/kmod-harness/boot-id, which the harness knows (the kernel's boot_id it does not). */
  nonce: string;
  /** Mixed into the guest's entropy pool, which is the snapshot's too. */
  seed: string;
}

export function freshSecrets(publicBlob: string): RunSecrets {
  return { publicBlob, now: Math.floor(Date.now() / 1000), nonce: randomBytes(16).toString('hex'), seed: randomBytes(32).toString('hex') };
}

export function secretsLine(s: RunSecrets): string {
  for (const word of [s.publicBlob, s.nonce, s.seed]) {
    if (!/^[A-Za-z0-9+/=]+$/.test(word)) throw new HarnessError('E_INTERNAL', 'infra-error', `a run secret is not one word of base64 or hex: ${word}`);
  }
  return `${s.publicBlob} ${s.now} ${s.nonce} ${s.seed}\n`;
}
