import { describe, expect, it } from 'vitest';
import { formatBuiltKernels } from '../../../../harness/src/commands/kernels/built.js';

describe('formatBuiltKernels', () => {
  it('one row per built kernel: source now, cached builds and whether they match, where defined; problems below', () => {
    const text = formatBuiltKernels([
      {
        name: '6.1-debug',
        series: '6.1',
        definedIn: 'built in',
        source: { package: 'linux-source-6.1', version: '6.1.192-3', suite: 'bookworm-security', unpacked: true },
        problems: [],
        cached: [
          { dir: '/c/kernels/6.1-debug_6.1.192-3_aaa', release: '6.1.192-kmod-harness', version: '6.1.192-3', current: false },
          { dir: '/c/kernels/6.1-debug_6.1.192-3_bbb', release: '6.1.192-kmod-harness', version: '6.1.192-3', current: true },
        ],
      },
      {
        name: 'mine',
        series: '6.12',
        definedIn: '/repo/kmod-harness.config.ts',
        problems: ["kernel 'mine': the Kconfig fragment /repo/x.config cannot be read (ENOENT)"],
        cached: [],
        source: { package: 'linux-source-6.12', version: '6.12.118-1', suite: 'trixie-security', unpacked: false },
      },
    ]);
    expect(text.split('\n')).toEqual([
      'BUILT KERNEL  SERIES  SOURCE NOW                                                      CACHED BUILDS                                                                                             DEFINED IN',
      '6.1-debug     6.1     linux-source-6.1 6.1.192-3 (bookworm-security)                  6.1.192-kmod-harness 6.1.192-3 (other configuration or source), 6.1.192-kmod-harness 6.1.192-3 (current)  built in',
      'mine          6.12    linux-source-6.12 6.12.118-1 (trixie-security), not downloaded  - (built on first use, ~10-15 min)                                                                        /repo/kmod-harness.config.ts',
      "mine: kernel 'mine': the Kconfig fragment /repo/x.config cannot be read (ENOENT)",
      '',
    ]);
  });
});
