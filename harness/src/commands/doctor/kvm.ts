// Doctor check `kvm`: whether runs get KVM or fall back to TCG, and why: the device, its group
// and this user's standing in it, the CPU's virtualisation flag, the kvm modules, and the
// probe boot's cached verdict (booted now with option probe). Never a failure: TCG still runs.
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { execa } from 'execa';
import { chooseAccel, currentProbeKey, probeFilePath, readCachedProbe } from '../../qemu/accel.js';
import { octalMode, utcTime } from '../../util/format.js';
import { check, errorMessage, type DoctorCheck, type Fact } from './check.js';
import type { KernelsFact } from './kernels.js';

export interface ProbeOutcome {
  /** undefined: the probe boot passed. */
  failure: string | undefined;
  /** Made with this host kernel and QEMU binary; otherwise the next run probes again. */
  current: boolean;
  /** When it was cached (ms since the epoch). */
  writtenMs: number;
}

export interface KvmFact {
  device: string;
  /** undefined when the device opens read/write; else the errno code (ENOENT, EACCES). */
  accessError: string | undefined;
  /** Owner group of the device and this user's standing in it. */
  group?: { gid: number; name: string | undefined; mode: string; member: boolean; inSession: boolean };
  /** vmx/svm from /proc/cpuinfo; undefined when the CPU lists neither. */
  cpuVirt: 'vmx' | 'svm' | undefined;
  /** Loaded modules among kvm, kvm_intel, kvm_amd. */
  modules: string[];
  probe: ProbeOutcome | undefined;
  probeFile: string;
  /** With option probe: the kernel this run probed with, or why it did not. */
  probed?: { kernel: string } | { skipped: string };
}

// ---- gathering -------------------------------------------------------------------------

/** Name and member list of group `gid`, through NSS (getent) so directory-service groups count too. */
async function lookupGroup(gid: number): Promise<{ name: string; members: string[] } | undefined> {
  const r = await execa('getent', ['group', String(gid)], { reject: false, stdin: 'ignore' }).catch(() => undefined);
  const [name, , , members] = (r?.exitCode === 0 ? r.stdout.trim() : '').split(':');
  return name ? { name, members: (members ?? '').split(',').filter(Boolean) } : undefined;
}

async function cpuVirt(): Promise<'vmx' | 'svm' | undefined> {
  const text = await readFile('/proc/cpuinfo', 'utf8');
  const flags = text.split('\n').find((l) => l.startsWith('flags')) ?? '';
  return /\bvmx\b/.test(flags) ? 'vmx' : /\bsvm\b/.test(flags) ? 'svm' : undefined;
}

async function readProbe(root: string): Promise<ProbeOutcome | undefined> {
  const [cached, key] = await Promise.all([readCachedProbe(root), currentProbeKey().catch(() => undefined)]);
  return cached && { failure: cached.failure, current: cached.key === key, writtenMs: cached.writtenMs };
}

/** With `probe`, boots the probe (through chooseAccel, which caches it as a run would) on a cached kernel of `kernels`. */
export async function gatherKvm(root: string, kernels: Promise<Fact<KernelsFact>>, probe: boolean): Promise<KvmFact> {
  const device = '/dev/kvm';
  const probeFile = probeFilePath(root);
  const accessError = await access(device, constants.R_OK | constants.W_OK).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? errorMessage(error),
  );
  const [virt, modules, info] = await Promise.all([
    cpuVirt().catch(() => undefined),
    Promise.all(['kvm', 'kvm_intel', 'kvm_amd'].map(async (m) => ((await stat(`/sys/module/${m}`).catch(() => undefined)) ? m : undefined))),
    stat(device).catch(() => undefined),
  ]);
  const fact: KvmFact = { device, accessError, cpuVirt: virt, modules: modules.filter((m): m is string => !!m), probe: await readProbe(root), probeFile };
  if (info) {
    const group = await lookupGroup(info.gid);
    const user = userInfo();
    fact.group = {
      gid: info.gid,
      name: group?.name,
      mode: octalMode(info.mode),
      member: user.gid === info.gid || (group?.members.includes(user.username) ?? false),
      inSession: process.getgid?.() === info.gid || (process.getgroups?.() ?? []).includes(info.gid),
    };
  }
  if (probe && !accessError && !fact.probe?.current) {
    const k = await kernels;
    const kernel = k.ok ? (k.value.cached.find((c) => c.series === k.value.defaultSeries) ?? k.value.cached[0]) : undefined;
    if (!kernel) fact.probed = { skipped: 'no cached kernel to boot' };
    else {
      await chooseAccel('auto', kernel.vmlinuz, root);
      fact.probed = { kernel: kernel.release };
      fact.probe = await readProbe(root);
    }
  }
  return fact;
}

// ---- judging ---------------------------------------------------------------------------

export const KVM_UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666"';
const UDEV_FIX = `on CI runners: echo '${KVM_UDEV_RULE}' | sudo tee /etc/udev/rules.d/99-kvm.rules && sudo udevadm control --reload-rules && sudo udevadm trigger --name-match=kvm`;

export function diagnoseKvm(fact: KvmFact): DoctorCheck {
  const tcg = 'runs use TCG (works, several times slower)';
  const noFlag = fact.cpuVirt === undefined;
  if (fact.accessError === 'ENOENT') {
    if (noFlag) {
      return check(
        'kvm',
        'warn',
        `${fact.device} does not exist and the CPU lists no vmx/svm in /proc/cpuinfo; ${tcg}`,
        'enable VT-x/AMD-V in the firmware, or nested virtualisation for this VM on its host',
      );
    }
    const module = fact.cpuVirt === 'vmx' ? 'kvm_intel' : 'kvm_amd';
    const why = fact.modules.includes(module) ? `${module} is loaded but made no device` : `the ${module} module is not loaded`;
    return check(
      'kvm',
      'warn',
      `${fact.device} does not exist (${why}); ${tcg}`,
      `sudo modprobe ${module}; if it fails, 'sudo dmesg | grep -i kvm' says why (virtualisation disabled in the firmware?)`,
    );
  }
  if (fact.accessError) {
    const g = fact.group;
    const owner = g ? `owned by group ${g.name ?? g.gid}, mode ${g.mode}` : 'owner unknown';
    const summary = `${fact.device} is not read/writable by this user (${fact.accessError}; ${owner}); ${tcg}`;
    if (g?.member && !g.inSession && g.name && g.name !== 'root') {
      return check('kvm', 'warn', summary, `you are in group ${g.name} but this session predates it: log in again (or run 'newgrp ${g.name}')`);
    }
    // A root-owned device gets no useful group to join: the udev rule hands it to group kvm first.
    const group = g?.name && g.name !== 'root' ? g.name : 'kvm';
    const join = `sudo usermod -aG ${group} $USER, then log in again`;
    return check('kvm', 'warn', summary, g?.name && g.name !== 'root' ? `${join}\n${UDEV_FIX}` : `${UDEV_FIX}\nthen: ${join}`);
  }
  const flagNote = noFlag ? ' (the CPU lists no vmx/svm: a nested or paravirtualised KVM)' : '';
  const probed = fact.probed && 'skipped' in fact.probed ? `; probe not run: ${fact.probed.skipped}` : '';
  const reprobe = `after fixing KVM, delete ${fact.probeFile} to probe again`;
  const p = fact.probe;
  // accel.ts words its failures for a run's log; here the heading already says it was the probe.
  const failure = p?.failure?.replace(/^a probe boot under KVM failed: /, '');
  if (!p) return check('kvm', 'ok', `${fact.device} usable${flagNote}; the first run boots a short probe to confirm KVM runs a stock kernel${probed}`);
  const when = fact.probed && 'kernel' in fact.probed ? `just now with ${fact.probed.kernel}` : `cached ${utcTime(p.writtenMs, 'day')}`;
  if (failure === undefined) {
    return p.current
      ? check('kvm', 'ok', `KVM usable: probe boot passed (${when})`)
      : check('kvm', 'ok', `${fact.device} usable; the last probe passed, but for another host kernel or QEMU: the next run probes again${probed}`);
  }
  if (!p.current) {
    return check('kvm', 'warn', `the last KVM probe failed (for another host kernel or QEMU: the next run probes again): ${failure}${flagNote}${probed}`);
  }
  return check('kvm', 'warn', `KVM probe failed (${when}): ${failure}${flagNote}; ${tcg}`, `none needed for TCG runs; ${reprobe}`);
}
