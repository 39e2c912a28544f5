import { describe, expect, it } from 'vitest';
import { MAX_TRACE_LINES, extractTrace, parseFrame, ripModule, traceModule, trailingModule } from '../../../harness/src/verdict/frames.js';

describe('parseFrame', () => {
  it.each([
    [' vfs_read+0xb0/0x2e0', { func: 'vfs_read', unreliable: false }],
    [' ? __warn+0x7d/0xc0', { func: '__warn', unreliable: true }],
    [' kmh_warn_read+0x4e/0x80 [kmh_warn]', { func: 'kmh_warn_read', module: 'kmh_warn', unreliable: false }],
    [' ocfs2_fill_super.cold+0xc8/0x1bf [ocfs2]', { func: 'ocfs2_fill_super.cold', module: 'ocfs2', unreliable: false }],
    // CONFIG_STACKTRACE_BUILD_ID
    [' drm_gem_vunmap+0x24/0x50 [drm 14b5c4e21fb011b0159efe14dd82da3407d64716]', { func: 'drm_gem_vunmap', module: 'drm', unreliable: false }],
    // kmemleak before 6.7, and pre-4.x x86 traces
    ['    [<00000000a1d2c3b4>] kmh_leak_init+0x1e/0x1000 [kmh_leak]', { func: 'kmh_leak_init', module: 'kmh_leak', unreliable: false }],
    ['[<ffffffff817079a5>] ? __schedule+0x235/0x6e0', { func: '__schedule', unreliable: true }],
    // syzbot-symbolized frames
    [' __dump_stack lib/dump_stack.c:94 [inline]', { func: '__dump_stack', unreliable: false }],
    [' dump_stack_lvl+0x116/0x1f0 lib/dump_stack.c:120', { func: 'dump_stack_lvl', unreliable: false }],
    ['\t__slab_alloc+0xa4/0xf0', { func: '__slab_alloc', unreliable: false }],
  ])('%j', (line, frame) => {
    expect(parseFrame(line)).toEqual(frame);
  });

  it.each([
    'RIP: 0010:kmh_null_write+0x15/0x30 [kmh_null]',
    'Modules linked in: kmh_warn(OE) virtio_net',
    'CPU: 1 PID: 231 Comm: t Tainted: G           OE      6.1.0-18-amd64 #1',
    'hardirqs last  enabled at (9319): [<ffff800080031c54>] local_daif_restore+0x1c/0x3c',
    ' <TASK>',
    '',
  ])('is not a frame: %j', (line) => {
    expect(parseFrame(line)).toBeUndefined();
  });
});

describe('modules', () => {
  it('reads the trailing [module] but not [inline]', () => {
    expect(trailingModule('WARNING: CPU: 1 PID: 2 at x.c:1 f+0x1/0x2 [kmh_warn]')).toBe('kmh_warn');
    expect(trailingModule(' f file.c:1 [inline]')).toBeUndefined();
    expect(trailingModule('BUG: soft lockup - CPU#1 stuck for 26s! [kmh_spin_test:301]')).toBeUndefined();
  });

  it('takes the module of a kernel-mode RIP only', () => {
    expect(ripModule('RIP: 0010:kmh_null_write+0x15/0x30 [kmh_null]')).toBe('kmh_null');
    expect(ripModule('pc : faulty_write+0x10/0x20 [faulty]')).toBe('faulty');
    expect(ripModule('RIP: 0033:0x7f3b9c5c5240')).toBeUndefined();
    expect(ripModule(' kmh_null_write+0x15/0x30 [kmh_null]')).toBeUndefined();
  });

  it('prefers the first reliable frame naming a module', () => {
    expect(traceModule(['<TASK>', '? virtnet_poll+0x1/0x2 [virtio_net]', 'kmh_read+0x1/0x2 [kmh]'])).toBe('kmh');
    expect(traceModule(['? kmh_read+0x1/0x2 [kmh]', 'vfs_read+0x1/0x2'])).toBe('kmh');
    expect(traceModule(['vfs_read+0x1/0x2'])).toBeUndefined();
  });
});

describe('extractTrace', () => {
  const report = [
    'BUG: kernel NULL pointer dereference, address: 0000000000000000',
    'RIP: 0010:f+0x15/0x30 [m]',
    'Call Trace:',
    ' <TASK>',
    ' ? page_fault_oops+0xd2/0x2b0',
    ' f+0x15/0x30 [m]',
    ' entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
    'RIP: 0033:0x7f3b9c5c5240',
    'Code: 40 00 48 8b 15 <48> 3d',
    'RSP: 002b:00007ffe5d4a1c38 EFLAGS: 00000202 ORIG_RAX: 0000000000000001',
    'R13: 0000559b1e3c1169 R14: 0000559b1e3c3dd8 R15: 00007f3b9c6f3020',
    ' </TASK>',
    'Modules linked in: m(OE)',
    ' not_after_the_end+0x1/0x2',
  ];

  it('collects frames and markers under Call Trace, skipping register dumps', () => {
    expect(extractTrace(report, 0, report.length)).toEqual([
      '<TASK>',
      '? page_fault_oops+0xd2/0x2b0',
      'f+0x15/0x30 [m]',
      'entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
      '</TASK>',
    ]);
  });

  it('is empty when the range has no trace heading', () => {
    expect(extractTrace(report, 0, 2)).toEqual([]);
  });

  it('reads kmemleak backtraces (both layouts) and KFENCE access stacks', () => {
    expect(extractTrace(['  backtrace (crc b1564374):', '    kmemleak_alloc+0x2d/0x40', '    kmh_init+0x1/0x2 [kmh]', ''], 0, 4)).toEqual([
      'kmemleak_alloc+0x2d/0x40',
      'kmh_init+0x1/0x2 [kmh]',
    ]);
    expect(extractTrace(['Use-after-free read at 0x000000008fbb08ad (in kfence-#0):', ' f+0xb0/0x1c8 [m]', '', 'kfence-#0: ...'], 0, 4)).toEqual([
      'f+0xb0/0x1c8 [m]',
    ]);
  });

  it('is bounded', () => {
    const long = ['Call Trace:', ...Array.from({ length: 500 }, (_, i) => ` f${i}+0x1/0x2`)];
    expect(extractTrace(long, 0, long.length)).toHaveLength(MAX_TRACE_LINES);
  });
});
