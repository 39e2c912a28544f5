// KVM or TCG. A /dev/kvm that opens is not proof that KVM runs a stock kernel (some hosts
// back it with kvm_pvm, which hangs such guests), so 'auto' boots a short probe under KVM
// and falls back to TCG unless the kernel prints its first lines in time. The answer is
// cached per host kernel and QEMU binary; the user can force either.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { release } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { cacheRoot } from '../cache/store.js';
import { hostArch, isForeign, type Arch } from '../arch.js';
import { UsageError } from '../errors.js';
import { readJsonOr, writeFileAtomic } from '../util/files.js';
import { findTool, requireTool } from '../host/tools.js';
import type { Accel } from './args.js';

export type AccelChoice = Accel | 'auto';

export interface AccelDecision {
  accel: Accel;
  reason: string;
}

export function parseAccelChoice(value: string | undefined): AccelChoice {
  const v = (value ?? 'auto').toLowerCase();
  if (v === 'auto' || v === 'kvm' || v === 'tcg') return v;
  throw new UsageError(`unknown accelerator '${value}'`, { fix: 'use --accel auto, kvm or tcg (or KMOD_HARNESS_ACCEL)' });
}

export async function kvmUsable(device = '/dev/kvm'): Promise<string | undefined> {
  try {
    await access(device, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${device} does not exist` : `${device} is not read/writable by this user (${code}); add the user to group kvm`;
  }
}

/** Boot `kernel` under KVM with no initramfs; it must reach start_kernel's banner quickly. */
async function probeKvm(kernel: string, timeoutMs: number): Promise<string | undefined> {
  const qemu = await requireTool('qemu-system-x86_64');
  const child = execa(
    qemu,
    [
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-machine',
      'q35',
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-kernel',
      kernel,
      '-append',
      'console=ttyS0 panic=-1',
      '-serial',
      'stdio',
    ],
    { stdin: 'ignore', reject: false, timeout: timeoutMs, buffer: true, cleanup: true },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    // The VFS panic (no root fs) proves the whole kernel ran under KVM; no need to wait more.
    if (/Kernel panic|Run \/init|Freeing unused kernel/.test(out)) child.kill('SIGKILL');
  });
  const result = await child;
  if (/Linux version/.test(out) && /Kernel panic|Run \/init|Freeing unused kernel/.test(out)) return undefined;
  if (result.timedOut) return `a probe boot under KVM printed nothing within ${timeoutMs / 1000} s (a /dev/kvm that cannot run stock kernels, e.g. kvm_pvm)`;
  const firstError = result.stderr.split('\n').find(Boolean) ?? `exit ${result.exitCode}`;
  return `a probe boot under KVM failed: ${firstError}`;
}

/** Where chooseAccel keeps the probe's verdict, in the cache root. */
export const PROBE_FILE = 'accel-probe.json';

export const probeFilePath = (root: string): string => path.join(root, PROBE_FILE);

/** A probe verdict holds for one host kernel and one QEMU binary. */
export async function probeKey(qemu: string): Promise<string> {
  const info = await stat(qemu);
  return `${release()}|${qemu}|${info.size}|${info.mtimeMs}`;
}

/** The key a probe made now would carry (this host kernel, this QEMU); undefined without QEMU. */
export async function currentProbeKey(): Promise<string | undefined> {
  const qemu = await findTool('qemu-system-x86_64');
  return qemu ? probeKey(qemu) : undefined;
}

/** A probe verdict as the cache holds it. */
export interface CachedProbe {
  /** probeKey() of the host kernel and QEMU it was made with: it holds only while that is current. */
  key: string;
  /** undefined: the probe boot passed. */
  failure: string | undefined;
  /** When it was written (ms since the epoch). */
  writtenMs: number;
}

/** The probe verdict cached in `root`, or undefined when there is none or it is unreadable (the next run probes again). */
export async function readCachedProbe(root: string): Promise<CachedProbe | undefined> {
  const file = probeFilePath(root);
  const cached = await readJsonOr<{ key?: unknown; failure?: unknown }>(file);
  if (typeof cached?.key !== 'string') return undefined;
  const info = await stat(file).catch(() => undefined);
  if (!info) return undefined;
  return { key: cached.key, failure: typeof cached.failure === 'string' ? cached.failure : undefined, writtenMs: info.mtimeMs };
}

export async function chooseAccel(choice: AccelChoice, kernel: string, root = cacheRoot(), arch: Arch = 'amd64'): Promise<AccelDecision> {
  if (choice === 'tcg') return { accel: 'tcg', reason: 'forced (--accel tcg)' };
  // KVM runs only guests of the host's own architecture.
  if (isForeign(arch)) {
    if (choice === 'kvm')
      throw new UsageError(`--accel kvm, but the kernel is ${arch} and this host is ${hostArch()}: KVM cannot run it`, {
        fix: 'use --accel auto or tcg for it (TCG emulates it), or run on an arm64 host',
      });
    return { accel: 'tcg', reason: `an ${arch} guest on an ${hostArch()} host` };
  }
  const unusable = await kvmUsable();
  if (choice === 'kvm') {
    if (unusable) throw new UsageError(`--accel kvm, but ${unusable}`, { fix: 'fix KVM access, or use --accel auto/tcg' });
    return { accel: 'kvm', reason: 'forced (--accel kvm)' };
  }
  if (unusable) return { accel: 'tcg', reason: unusable };

  const key = await probeKey(await requireTool('qemu-system-x86_64'));
  const cached = await readCachedProbe(root);
  let failure: string | undefined;
  if (cached?.key === key) failure = cached.failure;
  else {
    failure = await probeKvm(kernel, 8000);
    await writeFileAtomic(probeFilePath(root), JSON.stringify({ key, failure: failure ?? null }));
  }
  return failure ? { accel: 'tcg', reason: `KVM unusable: ${failure}; using TCG` } : { accel: 'kvm', reason: 'KVM probe boot passed' };
}
