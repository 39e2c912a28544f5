import { describe, expect, it } from 'vitest';
import { diagnoseTools } from '../../../../harness/src/commands/doctor/tools.js';

describe('diagnoseTools', () => {
  it('names each missing tool with its package, and fixes all with one apt-get line', () => {
    const c = diagnoseTools({
      missing: [
        { tool: 'dropbear', package: 'dropbear-bin' },
        { tool: 'dropbearkey', package: 'dropbear-bin' },
        { tool: 'zstd', package: 'zstd' },
      ],
      packages: ['dropbear-bin', 'libc6-dev', 'zstd'],
    });
    expect(c.status).toBe('fail');
    expect(c.summary).toBe('missing: dropbear (dropbear-bin), dropbearkey (dropbear-bin), zstd (zstd), libc.a (libc6-dev)');
    expect(c.fix).toBe('sudo apt-get install -y dropbear-bin libc6-dev zstd');
    expect(c.fix?.split('\n')).toHaveLength(1);
  });
});
