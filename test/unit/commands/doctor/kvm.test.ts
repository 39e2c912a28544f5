import { describe, expect, it } from 'vitest';
import { diagnoseKvm, KVM_UDEV_RULE, type KvmFact } from '../../../../harness/src/commands/doctor/kvm.js';
import { kvmOk } from './fixtures.js';

const kvmCheck = (over: Partial<KvmFact>) => diagnoseKvm({ ...kvmOk, ...over });

describe('diagnoseKvm', () => {
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
      probe: {
        failure: 'a probe boot under KVM failed: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69',
        current: true,
        writtenMs: Date.UTC(2026, 0, 2, 3, 4, 5),
      },
    });
    expect(c.status).toBe('warn');
    expect(c.summary).toBe(
      'KVM probe failed (cached 2026-01-02): qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69 (the CPU lists no vmx/svm: a nested or paravirtualised KVM); runs use TCG (works, several times slower)',
    );
    expect(c.fix).toContain('delete /cache/accel-probe.json to probe again');
  });

  it('a stale probe result (other host kernel or QEMU) says the next run probes again', () => {
    const failed = kvmCheck({ probe: { failure: 'a probe boot under KVM printed nothing within 8 s', current: false, writtenMs: Date.UTC(2026, 0, 2) } });
    expect(failed.status).toBe('warn');
    expect(failed.summary).toMatch(
      /^the last KVM probe failed \(for another host kernel or QEMU: the next run probes again\): a probe boot under KVM printed nothing/,
    );
    const passed = kvmCheck({ probe: { failure: undefined, current: false, writtenMs: Date.UTC(2026, 0, 2) } });
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
    for (const over of [
      { accessError: 'ENOENT', cpuVirt: undefined },
      { accessError: 'EACCES' },
      { probe: { failure: 'x', current: true, writtenMs: Date.UTC(2026, 0, 1) } },
    ] as Partial<KvmFact>[]) {
      expect(kvmCheck(over).status).toBe('warn');
    }
  });
});
