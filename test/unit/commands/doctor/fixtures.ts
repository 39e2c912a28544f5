// Facts of a healthy host, by hand, for the doctor's tests: each check's test varies its own,
// index.test.ts judges them all together.
import type { DoctorCheck } from '../../../../harness/src/commands/doctor/check.js';
import type { CompilerFact } from '../../../../harness/src/commands/doctor/gcc.js';
import type { HostFacts } from '../../../../harness/src/commands/doctor/index.js';
import type { KernelsFact } from '../../../../harness/src/commands/doctor/kernels.js';
import type { KvmFact } from '../../../../harness/src/commands/doctor/kvm.js';
import type { MirrorFact } from '../../../../harness/src/commands/doctor/mirror.js';

export const ok = <T>(value: T) => ({ ok: true as const, value });
export const GB = 1e9;

export const kvmOk: KvmFact = {
  device: '/dev/kvm',
  accessError: undefined,
  group: { gid: 993, name: 'kvm', mode: '0660', member: true, inSession: true },
  cpuVirt: 'vmx',
  modules: ['kvm', 'kvm_intel'],
  probe: { failure: undefined, current: true, writtenMs: Date.UTC(2026, 0, 2, 3, 4, 5) },
  probeFile: '/cache/accel-probe.json',
};

export const mirrorOk: MirrorFact = {
  missing: [],
  probes: [
    {
      archive: 'debian',
      uri: 'http://mirror.example/debian',
      from: '/etc/apt/sources.list.d/debian.sources',
      suite: 'bookworm',
      url: 'http://mirror.example/debian/dists/bookworm/Release',
      status: 200,
      ms: 40,
    },
    { archive: 'debian-security', uri: 'http://mirror.example/debian-security', from: 'derived', suite: 'bookworm-security', url: 'x', status: 200, ms: 50 },
  ],
};

export const compilerOk: CompilerFact = {
  gcc: { path: '/usr/bin/gcc', major: 12 },
  make: '/usr/bin/make',
  mmdebstrap: '/usr/bin/mmdebstrap',
  isRoot: false,
  userns: { unprivilegedClone: 1, maxUserNamespaces: 1000 },
  roots: ['trixie-gcc-14'],
};

export const kernelsOk: KernelsFact = {
  defaultSeries: '6.1',
  uncached: [],
  cached: [
    {
      series: '6.1',
      release: '6.1.0-56-cloud-amd64',
      vmlinuz: '/k/6.1/vmlinuz',
      ccVersionText: 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0',
      suite: 'bookworm-security',
      gccAccepted: [],
    },
    {
      series: '6.12',
      release: '6.12.118+deb13-cloud-amd64',
      vmlinuz: '/k/6.12/vmlinuz',
      ccVersionText: 'x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0',
      suite: 'trixie-security',
      gccAccepted: [],
    },
  ],
};

export function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    cacheRoot: '/cache',
    tools: ok({ missing: [], packages: [] }),
    qemu: ok({ path: '/usr/bin/qemu-system-x86_64', version: 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)' }),
    kvm: ok(kvmOk),
    disk: ok({ cacheRoot: '/cache', measured: '/cache', freeBytes: 80 * GB }),
    mirror: ok(mirrorOk),
    compiler: ok(compilerOk),
    kernels: ok(kernelsOk),
    ...over,
  };
}

export const byName = (checks: DoctorCheck[], name: string): DoctorCheck => {
  const found = checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
};
