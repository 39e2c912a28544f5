import { describe, expect, it } from 'vitest';
import {
  diagnose,
  doctorExitCode,
  formatDoctor,
  gatherHostFacts,
  KVM_UDEV_RULE,
  type CompilerFact,
  type DoctorCheck,
  type HostFacts,
  type KernelsFact,
  type KvmFact,
  type MirrorFact,
} from '../../../harness/src/commands/doctor.js';

const ok = <T>(value: T) => ({ ok: true as const, value });
const GB = 1e9;

const kvmOk: KvmFact = {
  device: '/dev/kvm',
  accessError: undefined,
  group: { gid: 993, name: 'kvm', mode: '0660', member: true, inSession: true },
  cpuVirt: 'vmx',
  modules: ['kvm', 'kvm_intel'],
  probe: { failure: undefined, current: true, at: '2026-01-02T03:04:05.000Z' },
  probeFile: '/cache/accel-probe.json',
};

const mirrorOk: MirrorFact = {
  missing: [],
  probes: [
    { archive: 'debian', uri: 'http://mirror.example/debian', from: '/etc/apt/sources.list.d/debian.sources', suite: 'bookworm', url: 'http://mirror.example/debian/dists/bookworm/Release', status: 200, ms: 40 },
    { archive: 'debian-security', uri: 'http://mirror.example/debian-security', from: 'derived', suite: 'bookworm-security', url: 'x', status: 200, ms: 50 },
  ],
};

const compilerOk: CompilerFact = {
  gcc: { path: '/usr/bin/gcc', major: 12 },
  make: '/usr/bin/make',
  mmdebstrap: '/usr/bin/mmdebstrap',
  isRoot: false,
  userns: { unprivilegedClone: 1, maxUserNamespaces: 1000 },
  roots: ['trixie-gcc-14'],
};

const kernelsOk: KernelsFact = {
  defaultSeries: '6.1',
  uncached: [],
  cached: [
    { series: '6.1', release: '6.1.0-56-cloud-amd64', vmlinuz: '/k/6.1/vmlinuz', ccVersionText: 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0', suite: 'bookworm-security', gccAccepted: [] },
    { series: '6.12', release: '6.12.118+deb13-cloud-amd64', vmlinuz: '/k/6.12/vmlinuz', ccVersionText: 'x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0', suite: 'trixie-security', gccAccepted: [] },
  ],
};

function facts(over: Partial<HostFacts> = {}): HostFacts {
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

const byName = (checks: DoctorCheck[], name: string): DoctorCheck => {
  const found = checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
};
const checkOf = (name: string, over: Partial<HostFacts>): DoctorCheck => byName(diagnose(facts(over)), name);
const kvmCheck = (over: Partial<KvmFact>): DoctorCheck => checkOf('kvm', { kvm: ok({ ...kvmOk, ...over }) });

describe('diagnose', () => {
  it('passes a healthy host, one check per concern in a fixed order', () => {
    const checks = diagnose(facts());
    expect(checks.map((c) => c.name)).toEqual(['host-tools', 'qemu', 'kvm', 'disk', 'mirror', 'gcc']);
    expect(checks.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(checks.every((c) => c.fix === undefined)).toBe(true);
    expect(byName(checks, 'qemu').summary).toBe('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)');
  });

  it('names each missing tool with its package, and fixes all with one apt-get line', () => {
    const c = checkOf('host-tools', {
      tools: ok({
        missing: [
          { tool: 'dropbear', package: 'dropbear-bin' },
          { tool: 'dropbearkey', package: 'dropbear-bin' },
          { tool: 'zstd', package: 'zstd' },
        ],
        packages: ['dropbear-bin', 'libc6-dev', 'zstd'],
      }),
    });
    expect(c.status).toBe('fail');
    expect(c.summary).toBe('missing: dropbear (dropbear-bin), dropbearkey (dropbear-bin), zstd (zstd), libc.a (libc6-dev)');
    expect(c.fix).toBe('sudo apt-get install -y dropbear-bin libc6-dev zstd');
    expect(c.fix?.split('\n')).toHaveLength(1);
  });

  it('fails without qemu and says which package brings it', () => {
    const c = checkOf('qemu', { qemu: ok({ path: undefined, version: undefined }) });
    expect(c).toMatchObject({ status: 'fail', summary: 'qemu-system-x86_64 not found', fix: 'sudo apt-get install -y qemu-system-x86' });
  });

  describe('kvm', () => {
    it('without /dev/kvm and without vmx/svm: a warning pointing at the firmware or nested virtualisation', () => {
      const c = kvmCheck({ accessError: 'ENOENT', group: undefined, cpuVirt: undefined, modules: [], probe: undefined });
      expect(c.status).toBe('warn');
      expect(c.summary).toMatch(/^\/dev\/kvm does not exist and the CPU lists no vmx\/svm.*runs use TCG/);
      expect(c.fix).toMatch(/VT-x\/AMD-V.*nested virtualisation/);
    });

    it('without /dev/kvm on a vmx CPU: the module to load', () => {
      const c = kvmCheck({ accessError: 'ENOENT', group: undefined, cpuVirt: 'vmx', modules: [], probe: undefined });
      expect(c.status).toBe('warn');
      expect(c.summary).toContain('the kvm_intel module is not loaded');
      expect(c.fix).toMatch(/^sudo modprobe kvm_intel/);
      expect(kvmCheck({ accessError: 'ENOENT', group: undefined, cpuVirt: 'svm', modules: [], probe: undefined }).fix).toMatch(/^sudo modprobe kvm_amd/);
    });

    it('without permission: names the owning group, the usermod line and the udev rule for CI', () => {
      const c = kvmCheck({ accessError: 'EACCES', group: { gid: 993, name: 'kvm', mode: '0660', member: false, inSession: false }, probe: undefined });
      expect(c.status).toBe('warn');
      expect(c.summary).toContain('not read/writable by this user (EACCES; owned by group kvm, mode 0660)');
      const [first, second] = (c.fix ?? '').split('\n');
      expect(first).toBe('sudo usermod -aG kvm $USER, then log in again');
      expect(second).toContain(`'${KVM_UDEV_RULE}' | sudo tee /etc/udev/rules.d/99-kvm.rules`);
    });

    it('joins the group the device really has, not a fixed name', () => {
      const c = kvmCheck({ accessError: 'EACCES', group: { gid: 36, name: 'hypervisor', mode: '0660', member: false, inSession: false } });
      expect(c.fix).toMatch(/^sudo usermod -aG hypervisor \$USER/);
    });

    it('a root-owned device: the udev rule first, then joining kvm', () => {
      const c = kvmCheck({ accessError: 'EACCES', group: { gid: 0, name: 'root', mode: '0600', member: false, inSession: false } });
      const lines = (c.fix ?? '').split('\n');
      expect(lines[0]).toContain(KVM_UDEV_RULE);
      expect(lines[1]).toBe('then: sudo usermod -aG kvm $USER, then log in again');
    });

    it('a member whose session predates the group: log in again, no usermod', () => {
      const c = kvmCheck({ accessError: 'EACCES', group: { gid: 993, name: 'kvm', mode: '0660', member: true, inSession: false } });
      expect(c.fix).toMatch(/in group kvm but this session predates it: log in again/);
      expect(c.fix).not.toContain('usermod');
    });

    it('reports a cached probe failure in its own words, and why (no vmx/svm)', () => {
      const c = kvmCheck({
        cpuVirt: undefined,
        probe: { failure: 'a probe boot under KVM failed: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69', current: true, at: '2026-01-02T03:04:05.000Z' },
      });
      expect(c.status).toBe('warn');
      expect(c.summary).toBe(
        'KVM probe failed (cached 2026-01-02): qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69 (the CPU lists no vmx/svm: a nested or paravirtualised KVM); runs use TCG (works, several times slower)',
      );
      expect(c.fix).toContain('delete /cache/accel-probe.json to probe again');
    });

    it('a stale probe result (other host kernel or QEMU) says the next run probes again', () => {
      const failed = kvmCheck({ probe: { failure: 'a probe boot under KVM printed nothing within 8 s', current: false, at: '2026-01-02T00:00:00.000Z' } });
      expect(failed.status).toBe('warn');
      expect(failed.summary).toMatch(/^the last KVM probe failed \(for another host kernel or QEMU: the next run probes again\): a probe boot under KVM printed nothing/);
      const passed = kvmCheck({ probe: { failure: undefined, current: false, at: '2026-01-02T00:00:00.000Z' } });
      expect(passed.status).toBe('ok');
      expect(passed.summary).toContain('the next run probes again');
    });

    it('no probe cached: ok, the first run probes; says when a requested probe was skipped', () => {
      const c = kvmCheck({ probe: undefined });
      expect(c.status).toBe('ok');
      expect(c.summary).toBe('/dev/kvm usable; the first run boots a short probe to confirm KVM runs a stock kernel');
      expect(kvmCheck({ probe: undefined, probed: { skipped: 'no cached kernel to boot' } }).summary).toMatch(/; probe not run: no cached kernel to boot$/);
    });

    it('a probe passed now or cached is ok and says which', () => {
      expect(kvmCheck({})).toMatchObject({ status: 'ok', summary: 'KVM usable: probe boot passed (cached 2026-01-02)' });
      expect(kvmCheck({ probed: { kernel: '6.1.0-56-cloud-amd64' } }).summary).toBe('KVM usable: probe boot passed (just now with 6.1.0-56-cloud-amd64)');
    });

    it('is never a failure: TCG still runs', () => {
      for (const over of [{ accessError: 'ENOENT', cpuVirt: undefined }, { accessError: 'EACCES' }, { probe: { failure: 'x', current: true, at: '2026-01-01' } }] as Partial<KvmFact>[]) {
        expect(kvmCheck(over).status).toBe('warn');
      }
    });
  });

  describe('disk', () => {
    const disk = (freeBytes: number, measured = '/cache') => checkOf('disk', { disk: ok({ cacheRoot: '/cache', measured, freeBytes }) });

    it('is ok at 5 GB, warns just under it, fails under 1.5 GB', () => {
      expect(disk(5 * GB)).toMatchObject({ status: 'ok', summary: '5.0 GB free at /cache' });
      expect(disk(5 * GB - 1).status).toBe('warn');
      expect(disk(1.5 * GB).status).toBe('warn');
      expect(disk(1.5 * GB - 1).status).toBe('fail');
      expect(disk(0.2 * GB).summary).toBe('0.2 GB free at /cache; under 1.5 GB');
    });

    it('the fix prunes the cache or moves it', () => {
      for (const c of [disk(3 * GB), disk(1 * GB)]) expect(c.fix).toMatch(/^kmod-harness cache prune, or set KMOD_HARNESS_CACHE to a disk/);
      expect(disk(80 * GB).fix).toBeUndefined();
    });

    it('names the ancestor it measured when the cache dir is not made yet', () => {
      expect(disk(80 * GB, '/home/u').summary).toBe('80.0 GB free at /home/u (the cache dir /cache is not made yet)');
    });
  });

  describe('mirror', () => {
    const debian = mirrorOk.probes[0]!;
    const security = mirrorOk.probes[1]!;

    it('reports each URI with where it came from and its HTTP status', () => {
      const c = checkOf('mirror', {});
      expect(c.summary).toContain('http://mirror.example/debian (/etc/apt/sources.list.d/debian.sources): HTTP 200 for dists/bookworm/Release in 40 ms');
    });

    it('fails on an unreachable main archive, quoting the error, with the network and KMOD_HARNESS_MIRROR as fixes', () => {
      const probe = { ...debian, status: undefined, ms: undefined, error: 'ENOTFOUND: getaddrinfo ENOTFOUND mirror.example' };
      const c = checkOf('mirror', { mirror: ok({ missing: [], probes: [probe, security] }) });
      expect(c.status).toBe('fail');
      expect(c.summary).toContain('http://mirror.example/debian (/etc/apt/sources.list.d/debian.sources): ENOTFOUND: getaddrinfo ENOTFOUND mirror.example');
      expect(c.fix).toMatch(/^check the network and proxy .* or set KMOD_HARNESS_MIRROR to the URI of a reachable debian mirror$/);
    });

    it('fails on a 404 of the Release file: the mirror lacks the suite', () => {
      const c = checkOf('mirror', { mirror: ok({ missing: [], probes: [{ ...debian, status: 404 }, security] }) });
      expect(c.status).toBe('fail');
      expect(c.summary).toContain('HTTP 404 for dists/bookworm/Release');
      expect(c.fix).toBe('set KMOD_HARNESS_MIRROR to a mirror that serves bookworm');
    });

    it('only warns when just the security archive is unreachable', () => {
      const c = checkOf('mirror', { mirror: ok({ missing: [], probes: [debian, { ...security, status: undefined, error: 'no answer within 5 s' }] }) });
      expect(c.status).toBe('warn');
      expect(c.fix).toContain('KMOD_HARNESS_SECURITY_MIRROR');
    });

    it('fails when the apt sources name no Debian archive', () => {
      const c = checkOf('mirror', { mirror: ok({ missing: ['debian'], probes: [] }) });
      expect(c.status).toBe('fail');
      expect(c.summary).toBe('no debian archive in the apt sources under /etc/apt');
      expect(c.fix).toMatch(/^set KMOD_HARNESS_MIRROR to the URI of a debian mirror/);
    });

    it('an unchecked URI (not http) is a warning, not a pass', () => {
      const c = checkOf('mirror', { mirror: ok({ missing: [], probes: [{ ...debian, uri: 'file:/srv/debian', status: undefined, skipped: 'not an http(s) URI, not checked' }] }) });
      expect(c.status).toBe('warn');
      expect(c.summary).toContain('file:/srv/debian');
    });
  });

  describe('gcc', () => {
    const gcc = (compiler: Partial<CompilerFact>, kernels: Partial<KernelsFact> = {}) => checkOf('gcc', { compiler: ok({ ...compilerOk, ...compiler }), kernels: ok({ ...kernelsOk, ...kernels }) });

    it('names the host gcc and which kernels it builds, and the roots the others use', () => {
      const c = gcc({});
      expect(c.status).toBe('ok');
      expect(c.summary).toBe('gcc 12, make; host gcc builds 6.1; 6.12 gcc-14 from a trixie root (cached)');
    });

    it('fails without gcc or make, with the apt-get line', () => {
      expect(gcc({ gcc: undefined })).toMatchObject({ status: 'fail', summary: 'gcc not found', fix: 'sudo apt-get install -y gcc' });
      expect(gcc({ gcc: undefined, make: undefined }).fix).toBe('sudo apt-get install -y gcc make');
    });

    it('warns when a needed root cannot be made: user namespaces off and not root', () => {
      const c = gcc({ roots: [], userns: { unprivilegedClone: 0 } });
      expect(c.status).toBe('warn');
      expect(c.summary).toContain('6.12 gcc-14 from a trixie root (not made yet)');
      expect(c.summary).toContain('mmdebstrap --mode=unshare: blocked: kernel.unprivileged_userns_clone is 0');
      expect(c.fix).toBe('sudo sysctl -w kernel.unprivileged_userns_clone=1 (or run as root) so mmdebstrap can unshare');
    });

    it('root needs no user namespaces', () => {
      const c = gcc({ roots: [], isRoot: true, userns: { unprivilegedClone: 0 } });
      expect(c.status).toBe('ok');
      expect(c.summary).toContain('mmdebstrap --mode=unshare: as root');
    });

    it('warns when a needed root cannot be made because mmdebstrap is missing', () => {
      const c = gcc({ roots: [], mmdebstrap: undefined });
      expect(c.status).toBe('warn');
      expect(c.fix).toBe('sudo apt-get install -y mmdebstrap');
    });

    it('the host gcc matching a kernel needs no root; the catalogue hint counts', () => {
      const c = gcc({ gcc: { path: '/usr/bin/gcc', major: 14 } });
      expect(c.summary).toContain('host gcc builds 6.12');
      const hinted = gcc({}, { cached: [{ ...kernelsOk.cached[0]!, series: '5.10', ccVersionText: 'gcc-10 (Debian 10.2.1-6) 10.2.1 20210110', gccAccepted: [12] }] });
      expect(hinted.summary).toBe('gcc 12, make; host gcc builds 5.10');
    });

    it('with nothing cached, says roots are made per kernel and whether unshare works', () => {
      const c = gcc({ userns: { maxUserNamespaces: 0 } }, { cached: [], uncached: ['6.1', '6.12'] });
      expect(c.status).toBe('ok');
      expect(c.summary).toContain('not cached yet: 6.1, 6.12 (one built with another gcc than the host');
      expect(c.summary).toContain('mmdebstrap --mode=unshare: blocked: user.max_user_namespaces is 0');
      expect(c.fix).toContain('sudo sysctl -w user.max_user_namespaces=');
    });

    it('a clang kernel is a warning naming the series', () => {
      const c = gcc({}, { cached: [{ ...kernelsOk.cached[0]!, series: 'x', ccVersionText: 'Debian clang version 16.0.6 (15)' }] });
      expect(c.status).toBe('warn');
      expect(c.summary).toMatch(/x: this kernel was built with clang 16/);
    });
  });

  it('a fact that could not be gathered is a warning carrying its error', () => {
    const c = checkOf('disk', { disk: { ok: false, error: 'EACCES: permission denied, statfs' } });
    expect(c).toEqual({ name: 'disk', status: 'warn', summary: 'could not check: EACCES: permission denied, statfs' });
  });
});

describe('formatDoctor', () => {
  it('prints one aligned line per check and indents each fix line under it', () => {
    const text = formatDoctor([
      { name: 'qemu', status: 'ok', summary: 'QEMU emulator version 7.2.22' },
      { name: 'kvm', status: 'warn', summary: '/dev/kvm is not read/writable', fix: 'sudo usermod -aG kvm $USER, then log in again\non CI runners: udev' },
      { name: 'disk', status: 'fail', summary: '1.0 GB free at /cache', fix: 'kmod-harness cache prune' },
    ]);
    expect(text).toBe(
      [
        'ok    qemu          QEMU emulator version 7.2.22',
        'warn  kvm           /dev/kvm is not read/writable',
        '      fix: sudo usermod -aG kvm $USER, then log in again',
        '           on CI runners: udev',
        'fail  disk          1.0 GB free at /cache',
        '      fix: kmod-harness cache prune',
        '',
      ].join('\n'),
    );
  });
});

describe('doctorExitCode', () => {
  it('is 1 when any check fails, 0 with only ok and warn', () => {
    expect(doctorExitCode([{ name: 'a', status: 'ok', summary: '' }, { name: 'b', status: 'warn', summary: '' }])).toBe(0);
    expect(doctorExitCode([{ name: 'a', status: 'warn', summary: '' }, { name: 'b', status: 'fail', summary: '' }])).toBe(1);
  });
});

describe('gatherHostFacts on this machine', () => {
  it('gathers every fact and diagnose() judges each, whatever this host has', async () => {
    const gathered = await gatherHostFacts();
    for (const key of ['tools', 'qemu', 'kvm', 'disk', 'mirror', 'compiler', 'kernels'] as const) {
      const fact = gathered[key];
      expect(fact.ok ? typeof fact.value : typeof fact.error, key).toBe(fact.ok ? 'object' : 'string');
    }
    const checks = diagnose(gathered);
    expect(checks.map((c) => c.name)).toEqual(['host-tools', 'qemu', 'kvm', 'disk', 'mirror', 'gcc']);
    for (const c of checks) {
      expect(['ok', 'warn', 'fail']).toContain(c.status);
      expect(c.summary.length, c.name).toBeGreaterThan(0);
      // Every failure must come with its fix.
      if (c.status === 'fail') expect(c.fix, c.name).toBeTruthy();
    }
    expect(byName(checks, 'kvm').status).not.toBe('fail');
    expect(formatDoctor(checks).split('\n').filter((l) => /^(ok|warn|fail) /.test(l))).toHaveLength(6);
  }, 30_000);
});
