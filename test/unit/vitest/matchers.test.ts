import { describe, expect, it } from 'vitest';
import { containKernelLines, noKernelErrors, passAllSubtests } from '../../../harness/src/vitest/matchers.js';
import '../../../harness/src/vitest/index.js';

const log = ['m: loaded', 'other: noise', 'm: open', 'm: vm_fault pgoff=0', 'm: release', 'm: unloaded'];

describe('containKernelLines', () => {
  it('finds substrings and RegExps in order, with other lines between', () => {
    expect(containKernelLines(log, ['m: loaded', /vm_fault pgoff=\d+/, 'm: unloaded']).pass).toBe(true);
    expect(containKernelLines(log.join('\n'), ['m: open', 'm: release']).pass).toBe(true);
    expect(containKernelLines({ kernelLog: log }, []).pass).toBe(true);
  });

  it('fails on the wrong order, naming the line and what came before it', () => {
    const r = containKernelLines(log, ['m: release', 'm: open']);
    expect(r.pass).toBe(false);
    expect(r.message).toMatch(/^expected the kernel log to contain "m: open" after "m: release" \(line 5\); 1 of 2 line\(s\) found in order/);
    expect(r.message).toContain('    m: unloaded');
    expect(r.message).not.toContain('    m: loaded');
  });

  it('uses each log line once: a line expected twice must appear twice', () => {
    expect(containKernelLines(log, ['m: open', 'm: open']).pass).toBe(false);
    expect(containKernelLines([...log, 'm: open'], ['m: open', 'm: open']).pass).toBe(true);
  });

  it('refuses something that is not a log', () => {
    expect(containKernelLines(42, ['x']).message).toMatch(/expected a kernel log/);
  });
});

describe('noKernelErrors', () => {
  it('passes with none and fails listing each with module, stage and source line', () => {
    expect(noKernelErrors({ kernelErrors: [] }).pass).toBe(true);
    const r = noKernelErrors({
      kernelErrors: [
        { kind: 'warning', title: 'WARNING: CPU: 0 PID: 1 at m.c:22 f+0x1/0x2 [m]', module: 'm', stage: 'test', source: [{ file: '/src/m.c', line: 22 }] },
      ],
    });
    expect(r.pass).toBe(false);
    expect(r.message).toBe('expected no kernel errors, found 1:\n  warning in m during test at /src/m.c:22: WARNING: CPU: 0 PID: 1 at m.c:22 f+0x1/0x2 [m]');
  });

  it('new taint without a report fails it too', () => {
    const r = noKernelErrors({ kernelErrors: [], outcome: 'kernel-error', reasons: ['new taint: W (warning) after test'] });
    expect(r.pass).toBe(false);
    expect(r.message).toContain('new taint: W');
  });

  it('refuses something without kernelErrors', () => {
    expect(noKernelErrors('x').pass).toBe(false);
  });
});

describe('the registered matchers', () => {
  it('expect().toContainKernelLines and .not', () => {
    expect(log).toContainKernelLines(['m: loaded', 'm: unloaded']);
    expect(log).not.toContainKernelLines(['m: unloaded', 'm: loaded']);
    expect(() => expect(log).toContainKernelLines(['nope'])).toThrow(/"nope"/);
  });

  it('expect().toHaveNoKernelErrors', () => {
    expect({ kernelErrors: [] }).toHaveNoKernelErrors();
    expect(() => expect({ kernelErrors: [{ kind: 'oops', title: 'BUG: kernel NULL pointer dereference' }] }).toHaveNoKernelErrors()).toThrow(
      /oops: BUG: kernel NULL/,
    );
  });
});

describe('passAllSubtests', () => {
  const sub = (id: string, status: string, name = `t${id}`, diagnostics: string[] = []) => ({ id, name, status, diagnostics });

  it('passes when every subtest passed or was skipped, and the TAP says nothing failed', () => {
    expect(passAllSubtests({ subtests: [sub('1', 'pass'), sub('2', 'skip'), sub('3', 'todo')] }).pass).toBe(true);
  });

  it('names each failed subtest with its diagnostics', () => {
    const m = passAllSubtests({
      subtests: [sub('1', 'pass'), sub('2', 'fail', 'read back', ['got 0x00, want 0x5a'])],
      tapFailure: 'subtest 2 "read back" failed',
    });
    expect(m.pass).toBe(false);
    expect(m.message).toBe(
      'expected every subtest to pass, 1 of 2 failed:\n  subtest 2 "read back" failed:\n      # got 0x00, want 0x5a\n  the TAP says: subtest 2 "read back" failed',
    );
  });

  it('fails a test that stopped midway, though no subtest says not ok', () => {
    const m = passAllSubtests({ subtests: [sub('1', 'pass')], tapFailure: 'the test stopped after subtest 1 "t1" of a plan of 5' });
    expect(m.pass).toBe(false);
    expect(m.message).toContain('the TAP says: the test stopped after subtest 1 "t1" of a plan of 5');
  });

  it('fails a test that printed no TAP, saying so', () => {
    expect(passAllSubtests({}).message).toMatch(/printed no TAP or KTAP/);
  });

  it('is the toPassAllSubtests matcher', () => {
    expect({ subtests: [sub('1', 'pass')] }).toPassAllSubtests();
    expect(() => expect({ subtests: [sub('1', 'fail')] }).toPassAllSubtests()).toThrow(/subtest 1 "t1" failed/);
  });
});
