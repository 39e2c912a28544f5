import { describe, expect, it } from 'vitest';
import { diagnoseGcc, type CompilerFact } from '../../../../harness/src/commands/doctor/gcc.js';
import type { KernelsFact } from '../../../../harness/src/commands/doctor/kernels.js';
import { compilerOk, kernelsOk, ok } from './fixtures.js';

describe('diagnoseGcc', () => {
  const gcc = (compiler: Partial<CompilerFact>, kernels: Partial<KernelsFact> = {}) =>
    diagnoseGcc({ ...compilerOk, ...compiler }, ok({ ...kernelsOk, ...kernels }));

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
    const hinted = gcc(
      {},
      { cached: [{ ...kernelsOk.cached[0]!, series: '5.10', ccVersionText: 'gcc-10 (Debian 10.2.1-6) 10.2.1 20210110', gccAccepted: [12] }] },
    );
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
