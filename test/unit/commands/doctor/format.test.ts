import { describe, expect, it } from 'vitest';
import { formatDoctor } from '../../../../harness/src/commands/doctor/format.js';

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
