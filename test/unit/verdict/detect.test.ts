import { describe, expect, it } from 'vitest';
import { detectKernelErrors } from '../../../harness/src/verdict/detect.js';
import { parseDmesg, type KmsgRecord } from '../../../harness/src/verdict/kmsg.js';

const log = (...texts: string[]): KmsgRecord[] => texts.map((text) => ({ text }));

// A minimal x86 oops body: registers, trace, modules, end marker.
const oopsBody = (fn: string, mod: string): string[] => [
  'CPU: 0 PID: 247 Comm: t Tainted: G           OE      6.1.0-18-amd64 #1  Debian 6.1.76-1',
  `RIP: 0010:${fn}+0x15/0x30 [${mod}]`,
  'RSP: 0018:ffffb1a1c0407e60 EFLAGS: 00010246',
  'Call Trace:',
  ' <TASK>',
  ` ? ${fn}+0x15/0x30 [${mod}]`,
  ' vfs_write+0xc8/0x410',
  ' </TASK>',
  `Modules linked in: ${mod}(OE)`,
  '---[ end trace 0000000000000000 ]---',
];

describe('detectKernelErrors', () => {
  it('finds nothing in an empty or benign log', () => {
    expect(detectKernelErrors([])).toEqual([]);
    expect(detectKernelErrors(log('kmh: loaded', 'kmh: BUG: not really', 'Warning: unable to open an initial console.'))).toEqual([]);
  });

  it('counts a BUG line and the Oops that follows it once, with RIP module and trace', () => {
    const errors = detectKernelErrors(
      log(
        'kmh: write',
        'BUG: kernel NULL pointer dereference, address: 0000000000000000',
        '#PF: supervisor write access in kernel mode',
        '#PF: error_code(0x0002) - not-present page',
        'PGD 0 P4D 0 ',
        'Oops: 0002 [#1] PREEMPT SMP NOPTI',
        ...oopsBody('kmh_null_write', 'kmh_null'),
        'kmh: after',
      ),
    );
    expect(errors).toEqual([
      {
        kind: 'bug',
        title: 'BUG: kernel NULL pointer dereference, address: 0000000000000000',
        trace: ['<TASK>', '? kmh_null_write+0x15/0x30 [kmh_null]', 'vfs_write+0xc8/0x410', '</TASK>'],
        module: 'kmh_null',
        recordIndex: 1,
        endIndex: 16,
      },
    ]);
  });

  it('reports a lone Oops line as an oops', () => {
    const [error] = detectKernelErrors(log('Oops: 0000 [#1] SMP', ...oopsBody('f', 'm')));
    expect(error).toMatchObject({ kind: 'oops', title: 'Oops: 0000 [#1] SMP', module: 'm' });
  });

  it('folds a panic_on_oops panic into the report it follows', () => {
    const errors = detectKernelErrors(
      log(
        'BUG: unable to handle page fault for address: ffffb1a1c0a5d000',
        'Oops: 0002 [#1] PREEMPT SMP NOPTI',
        ...oopsBody('f', 'm'),
        'RIP: 0010:f+0x15/0x30 [m]',
        'Kernel panic - not syncing: Fatal exception',
        'Kernel Offset: 0x22a00000 from 0xffffffff81000000',
        '---[ end Kernel panic - not syncing: Fatal exception ]---',
      ),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'bug', endIndex: 14 });
  });

  it('folds panic_on_warn into the open WARNING report', () => {
    const errors = detectKernelErrors(
      log(
        'WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2 [m]',
        'Modules linked in: m(OE)',
        'Kernel panic - not syncing: kernel: panic_on_warn set ...',
        'Call Trace:',
        ' f+0x1/0x2 [m]',
      ),
    );
    expect(errors.map((e) => e.kind)).toEqual(['warning']);
  });

  it('keeps an unrelated later panic as its own report', () => {
    const errors = detectKernelErrors(
      log(
        ...['WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2 [m]', '---[ end trace 0000000000000000 ]---'],
        'm: continuing',
        'Kernel panic - not syncing: m: requested',
      ),
    );
    expect(errors.map((e) => e.kind)).toEqual(['warning', 'panic']);
  });

  it('counts two warnings twice', () => {
    const warn = [
      '------------[ cut here ]------------',
      'WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2 [m]',
      'Call Trace:',
      ' f+0x1/0x2 [m]',
      '---[ end trace 0000000000000000 ]---',
    ];
    expect(detectKernelErrors(log(...warn, ...warn))).toHaveLength(2);
  });

  it('names a refcount report for the refcount line whichever side of the WARNING it is on', () => {
    const x86 = detectKernelErrors(
      log(
        '------------[ cut here ]------------',
        'refcount_t: underflow; use-after-free.',
        'WARNING: CPU: 0 PID: 1 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110',
        'Call Trace:',
        ' kmh_put+0x3a/0x50 [kmh_ref]',
        '---[ end trace 0000000000000000 ]---',
      ),
    );
    // Architectures without __WARN_FLAGS print the message after the WARNING line.
    const arm = detectKernelErrors(
      log(
        '------------[ cut here ]------------',
        'WARNING: CPU: 1 PID: 0 at lib/refcount.c:28 finish_task_switch+0x208/0x268',
        'refcount_t: underflow; use-after-free.',
        'Modules linked in:',
        '---[ end trace 0000000000000000 ]---',
      ),
    );
    expect(x86).toHaveLength(1);
    expect(x86[0]).toMatchObject({ kind: 'refcount', title: 'refcount_t: underflow; use-after-free.', module: 'kmh_ref' });
    expect(arm).toHaveLength(1);
    expect(arm[0]).toMatchObject({ kind: 'refcount', title: 'refcount_t: underflow; use-after-free.' });
  });

  it('joins the WARN flavour of list corruption (message after cut-here)', () => {
    const errors = detectKernelErrors(
      log(
        '------------[ cut here ]------------',
        'list_del corruption. prev->next should be ffff88800f3ca250, but was ffff88802f5f9dd0',
        'WARNING: CPU: 1 PID: 1106 at lib/list_debug.c:51 __list_del_entry_valid+0xb3/0xd0',
        'Call Trace:',
        ' kmh_del+0x2c/0x60 [kmh_list]',
        '---[ end trace 0000000000000000 ]---',
      ),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'list-corruption', module: 'kmh_list' });
  });

  it('reads 6.9+ Oops-prefixed lines', () => {
    const gpf = detectKernelErrors(
      log('Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI', ...oopsBody('f', 'm')),
    );
    expect(gpf).toHaveLength(1);
    expect(gpf[0]).toMatchObject({ kind: 'gpf', title: 'general protection fault, probably for non-canonical address 0xdead000000000122' });
    const bug = detectKernelErrors(
      log('------------[ cut here ]------------', 'kernel BUG at lib/list_debug.c:62!', 'Oops: invalid opcode: 0000 [#1] SMP KASAN PTI', ...oopsBody('f', 'm')),
    );
    expect(bug.map((e) => e.kind)).toEqual(['kernel-bug']);
  });

  it('reads the 6.5+ UBSAN layout (cut-here and end trace instead of rulers)', () => {
    const errors = detectKernelErrors(
      parseDmesg(
        [
          '[   18.852298] ------------[ cut here ]------------',
          '[   18.853271] UBSAN: array-index-out-of-bounds in net/sched/sch_ets.c:93:20',
          "[   18.853743] index 18446744073709551615 is out of range for type 'ets_class [16]'",
          '[   18.854254] CPU: 0 UID: 0 PID: 1275 Comm: poc Not tainted 6.12.6-dirty #17',
          '[   18.854821] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.15.0-1 04/01/2014',
          '[   18.854900] Call Trace:',
          '[   18.854901]  <TASK>',
          '[   18.854902]  dump_stack_lvl+0x5d/0x80',
          '[   18.854903]  __ubsan_handle_out_of_bounds+0xa5/0xe0',
          '[   18.854904]  ets_class_change+0x3d6/0x3f0 [sch_ets]',
          '[   18.854905]  </TASK>',
          '[   18.854906] ---[ end trace ]---',
          '[   18.854907] after',
        ].join('\n'),
      ),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'ubsan', module: 'sch_ets', endIndex: 12 });
  });

  it('reads the 6.7+ kmemleak layout and the arm64 oops layout', () => {
    const leak = detectKernelErrors(
      log(
        'unreferenced object 0xffff88800e6cf2c0 (size 32):',
        '  comm "modprobe", pid 969, jiffies 4294698691',
        '  hex dump (first 32 bytes):',
        '    03 00 00 00 a0 0a 00 00 00 b0 b4 00 00 c9 ff ff  ................',
        '  backtrace (crc 807f3e24):',
        '    __kmalloc_cache_noprof+0x331/0x410',
        '    nvdimm_namespace_attach_btt+0xa9b/0xcc0 [nd_btt]',
      ),
    );
    expect(leak[0]).toMatchObject({
      kind: 'kmemleak',
      module: 'nd_btt',
      trace: ['__kmalloc_cache_noprof+0x331/0x410', 'nvdimm_namespace_attach_btt+0xa9b/0xcc0 [nd_btt]'],
    });

    const arm = detectKernelErrors(
      log(
        'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
        'Mem abort info:',
        '  ESR = 0x0000000096000045',
        '  EC = 0x25: DABT (current EL), IL = 32 bits',
        '  SET = 0, FnV = 0',
        '  EA = 0, S1PTW = 0',
        '  FSC = 0x05: level 1 translation fault',
        'Data abort info:',
        '  ISV = 0, ISS = 0x00000045',
        '  CM = 0, WnR = 1',
        'user pgtable: 4k pages, 39-bit VAs, pgdp=0000000041c11000',
        '[0000000000000000] pgd=0000000000000000, p4d=0000000000000000, pud=0000000000000000',
        'Internal error: Oops: 96000045 [#1] SMP',
        'Modules linked in: hello(O) faulty(O) scull(O)',
        'pc : faulty_write+0x10/0x20 [faulty]',
        'lr : vfs_write+0xa8/0x2b0',
        'Call trace:',
        ' faulty_write+0x10/0x20 [faulty]',
        ' ksys_write+0x68/0x100',
        'Code: d2800001 d2800000 d503233f d50323bf (b900003f) ',
        '---[ end trace 464f28afd5ab27ca ]---',
      ),
    );
    expect(arm).toHaveLength(1);
    expect(arm[0]).toMatchObject({ kind: 'bug', module: 'faulty', trace: ['faulty_write+0x10/0x20 [faulty]', 'ksys_write+0x68/0x100'] });
  });

  it('keeps back-to-back soft lockups on two CPUs apart', () => {
    const errors = detectKernelErrors(
      log(
        'watchdog: BUG: soft lockup - CPU#0 stuck for 319s! [watchdogd:57]',
        'watchdog: BUG: soft lockup - CPU#3 stuck for 348s! [repo2solv:1139]',
        'Modules linked in: af_packet',
      ),
    );
    expect(errors.map((e) => e.title)).toEqual([
      'BUG: soft lockup - CPU#0 stuck for 319s! [watchdogd:57]',
      'BUG: soft lockup - CPU#3 stuck for 348s! [repo2solv:1139]',
    ]);
  });

  it('ends a report without terminator after a bounded number of lines', () => {
    const filler = Array.from({ length: 300 }, (_, i) => `m: line ${i}`);
    const errors = detectKernelErrors(log('BUG: scheduling while atomic: t/1/0x00000002', ...filler, 'Oops: 0000 [#1] SMP'));
    expect(errors.map((e) => e.kind)).toEqual(['bug', 'oops']);
    expect(errors[0]!.endIndex).toBeLessThanOrEqual(202);
  });

  it('does not glue an Oops onto a report whose header is far behind', () => {
    const errors = detectKernelErrors(
      log('INFO: task t:1 blocked for more than 120 seconds.', ...Array.from({ length: 30 }, () => 'x'), 'Oops: 0000 [#1] SMP'),
    );
    expect(errors.map((e) => e.kind)).toEqual(['hung-task', 'oops']);
  });

  it('reports a kmemleak scan summary on its own when no object was printed', () => {
    const [error] = detectKernelErrors(log('kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)'));
    expect(error).toMatchObject({ kind: 'kmemleak', title: 'kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)', trace: [] });
  });

  it('counts a KASAN-instrumented general protection fault once', () => {
    const errors = detectKernelErrors(
      log(
        'general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] PREEMPT SMP KASAN',
        'KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]',
        ...oopsBody('sock_has_perm', 'm'),
      ),
    );
    expect(errors.map((e) => e.kind)).toEqual(['gpf']);
  });

  it('reads a lockdep report as lockdep, not as a plain warning', () => {
    const errors = detectKernelErrors(
      log(
        '======================================================',
        'WARNING: possible circular locking dependency detected',
        '6.1.0-18-amd64 #1 Tainted: G           OE',
        '------------------------------------------------------',
        'kmh_test/212 is trying to acquire lock:',
        'stack backtrace:',
        'Call Trace:',
        ' kmh_lock_b+0x1/0x2 [kmh_lock]',
      ),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'lockdep', module: 'kmh_lock' });
  });
});
