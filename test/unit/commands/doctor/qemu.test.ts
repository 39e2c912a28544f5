import { describe, expect, it } from 'vitest';
import { diagnoseQemu } from '../../../../harness/src/commands/doctor/qemu.js';

describe('diagnoseQemu', () => {
  it('fails without qemu and says which package brings it', () => {
    const c = diagnoseQemu({ path: undefined, version: undefined });
    expect(c).toMatchObject({ status: 'fail', summary: 'qemu-system-x86_64 not found', fix: 'sudo apt-get install -y qemu-system-x86' });
  });
});
