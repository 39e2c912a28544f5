// The detector on kernel logs captured from the broken fixture modules on every catalogue
// kernel (capture.sh beside the logs regenerates them): each log must show the kind of report
// its fixture's expect.json names, and the benign one none at all. The debug-kernel fixtures'
// logs come from 6.1-debug (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, UBSAN, built by the harness);
// 6.1-arm64 is Debian's cloud-arm64 kernel, whose reports have arm64's own wording, and
// 6.1-arm64-debug the debug configuration built for arm64 (6.1/arm64-debug).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectKernelErrors, parseConsole, parseDmesg } from '../../../harness/src/verdict/index.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/kmsg/captured');
const fixtures = path.resolve(import.meta.dirname, '../../fixtures/modules');
const logs = readdirSync(dir)
  .map((file) => /^(\d+\.\d+(?:-arm64-debug|-arm64|-debug)?)-([a-z-]+)\.(dmesg|console)$/.exec(file))
  // seed, warn and odebug have tests of their own (captured.test.ts) and no fixture module dir.
  .filter((m): m is RegExpExecArray => m !== null && !['seed', 'warn', 'odebug'].includes(m[2]!))
  .map((m) => ({ file: m[0], series: m[1]!, fixture: m[2]!, format: m[3] as 'dmesg' | 'console' }));

describe('captured logs of the broken fixtures', () => {
  it('has logs from every catalogue kernel, the debug-kernel fixtures from 6.1-debug, and the arm64 ones from 6.1/arm64', () => {
    expect(new Set(logs.map((l) => l.series))).toEqual(new Set(['5.10', '6.1', '6.12', '7.2', '6.1-debug', '6.1-arm64', '6.1-arm64-debug']));
    expect(new Set(logs.filter((l) => l.series === '6.1-arm64-debug').map((l) => l.fixture))).toEqual(
      new Set(['use-after-free', 'lock-order', 'sleep-in-rcu', 'ubsan-bounds']),
    );
    expect(new Set(logs.filter((l) => l.series === '6.1-arm64').map((l) => l.fixture))).toEqual(
      new Set(['oops-at-load', 'panic-in-test', 'double-free', 'warn-on-unload', 'benign-noisy']),
    );
    expect(new Set(logs.filter((l) => l.series === '6.1-debug').map((l) => l.fixture))).toEqual(
      new Set(['use-after-free', 'lock-order', 'sleep-in-rcu', 'ubsan-bounds']),
    );
  });

  it.each(logs)('$file', ({ file, fixture, format }) => {
    const want = JSON.parse(readFileSync(path.join(fixtures, fixture, 'expect.json'), 'utf8')) as {
      kind: string | null;
      kindAlternatives?: string[];
      outcome: string;
    };
    const text = readFileSync(path.join(dir, file), 'utf8').replace(/^#.*\n/, '');
    const errors = detectKernelErrors(format === 'dmesg' ? parseDmesg(text) : parseConsole(text));
    if (want.outcome === 'pass') {
      expect(errors).toEqual([]);
      return;
    }
    const allowed = [want.kind, ...(want.kindAlternatives ?? [])];
    expect(errors.map((e) => e.kind).filter((k) => allowed.includes(k)).length, JSON.stringify(errors.map((e) => e.title))).toBeGreaterThan(0);
    // The report blames the fixture's module, except a panic() the module called itself.
    const blamed = errors.filter((e) => allowed.includes(e.kind)).map((e) => e.module);
    if (want.kind !== 'panic') expect(blamed.some((m) => m?.startsWith('kmh_'))).toBe(true);
  });
});
