import { describe, expect, it } from 'vitest';
import { diagnose, doctorExitCode, formatDoctor, gatherHostFacts } from '../../../../harness/src/commands/doctor/index.js';
import { byName, facts } from './fixtures.js';

describe('diagnose', () => {
  it('passes a healthy host, one check per concern in a fixed order', () => {
    const checks = diagnose(facts());
    expect(checks.map((c) => c.name)).toEqual(['host-tools', 'qemu', 'kvm', 'disk', 'mirror', 'gcc']);
    expect(checks.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(checks.every((c) => c.fix === undefined)).toBe(true);
    expect(byName(checks, 'qemu').summary).toBe('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)');
  });

  it('a fact that could not be gathered is a warning carrying its error', () => {
    const c = byName(diagnose(facts({ disk: { ok: false, error: 'EACCES: permission denied, statfs' } })), 'disk');
    expect(c).toEqual({ name: 'disk', status: 'warn', summary: 'could not check: EACCES: permission denied, statfs' });
  });
});

describe('doctorExitCode', () => {
  it('is 1 when any check fails, 0 with only ok and warn', () => {
    expect(
      doctorExitCode([
        { name: 'a', status: 'ok', summary: '' },
        { name: 'b', status: 'warn', summary: '' },
      ]),
    ).toBe(0);
    expect(
      doctorExitCode([
        { name: 'a', status: 'warn', summary: '' },
        { name: 'b', status: 'fail', summary: '' },
      ]),
    ).toBe(1);
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
    expect(
      formatDoctor(checks)
        .split('\n')
        .filter((l) => /^(ok|warn|fail) /.test(l)),
    ).toHaveLength(6);
  }, 30_000);
});
