import { describe, expect, it } from 'vitest';
import { matchHeader } from '../../../harness/src/verdict/patterns.js';

describe('matchHeader', () => {
  it.each([
    ['BUG: kernel NULL pointer dereference, address: 0000000000000000', 'bug', 'BUG: kernel NULL pointer dereference, address: 0000000000000000'],
    ['BUG: unable to handle page fault for address: ffffb1a1c0a5d000', 'bug', 'BUG: unable to handle page fault for address: ffffb1a1c0a5d000'],
    [
      'BUG: unable to handle kernel NULL pointer dereference at 0000000000000008',
      'bug',
      'BUG: unable to handle kernel NULL pointer dereference at 0000000000000008',
    ],
    [
      'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274',
      'bug',
      'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274',
    ],
    ['BUG: scheduling while atomic: kmh_sleep_test/279/0x00000002', 'bug', 'BUG: scheduling while atomic: kmh_sleep_test/279/0x00000002'],
    ['watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [kmh_spin_test:301]', 'bug', 'BUG: soft lockup - CPU#1 stuck for 26s! [kmh_spin_test:301]'],
    [
      'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
      'bug',
      'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
    ],
    ['kernel BUG at /tmp/kmh/kmh_bug.c:31!', 'kernel-bug', 'kernel BUG at /tmp/kmh/kmh_bug.c:31!'],
    [
      'WARNING: CPU: 1 PID: 231 at /tmp/kmh/kmh_warn.c:42 kmh_warn_read+0x4e/0x80 [kmh_warn]',
      'warning',
      'WARNING at /tmp/kmh/kmh_warn.c:42 kmh_warn_read+0x4e/0x80 [kmh_warn]',
    ],
    ['WARNING: at lib/list_debug.c:59 __list_del_entry+0xa1/0xd0()', 'warning', 'WARNING at lib/list_debug.c:59 __list_del_entry+0xa1/0xd0()'],
    ['WARNING: CPU: 1 PID: 0 at 0xffffffffa0483659', 'warning', 'WARNING at 0xffffffffa0483659'],
    ['WARNING: kernel/sched/core.c:8511 at sched_init+0x20/0x410, CPU#0: swapper/0', 'warning', 'WARNING at kernel/sched/core.c:8511 sched_init+0x20/0x410'],
    [
      'general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI',
      'gpf',
      'general protection fault, probably for non-canonical address 0xdead000000000122',
    ],
    [
      'Oops: general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] SMP KASAN NOPTI',
      'gpf',
      'general protection fault, probably for non-canonical address 0xdffffc0000000002',
    ],
    ['general protection fault: 0000 [#1] SMP', 'gpf', 'general protection fault'],
    ['BUG: KASAN: slab-use-after-free in kmh_uaf_read+0x8f/0xb0 [kmh_uaf]', 'kasan', 'BUG: KASAN: slab-use-after-free in kmh_uaf_read+0x8f/0xb0 [kmh_uaf]'],
    [
      'BUG: KFENCE: use-after-free read in pci_bus_release_domain_nr+0x10/0x70',
      'kfence',
      'BUG: KFENCE: use-after-free read in pci_bus_release_domain_nr+0x10/0x70',
    ],
    ['UBSAN: array-index-out-of-bounds in net/sched/sch_ets.c:93:20', 'ubsan', 'UBSAN: array-index-out-of-bounds in net/sched/sch_ets.c:93:20'],
    ['UBSAN: shift-out-of-bounds in drivers/x.c:12:5', 'ubsan', 'UBSAN: shift-out-of-bounds in drivers/x.c:12:5'],
    ['unreferenced object 0xffff96a848d6ea80 (size 192):', 'kmemleak', 'kmemleak: unreferenced object 0xffff96a848d6ea80 (size 192)'],
    [
      'kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
      'kmemleak',
      'kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
    ],
    [
      'list_del corruption. prev->next should be ffff98d3a8f316c0, but was 2e885cb266355469',
      'list-corruption',
      'list_del corruption. prev->next should be ffff98d3a8f316c0, but was 2e885cb266355469',
    ],
    [
      'list_add corruption. next->prev should be prev (ffff8880), but was 0000000000000000. (next=ffff8881).',
      'list-corruption',
      'list_add corruption. next->prev should be prev (ffff8880), but was 0000000000000000. (next=ffff8881).',
    ],
    ['list_add double add: new=ffff8880, prev=ffff8880, next=ffff8881.', 'list-corruption', 'list_add double add: new=ffff8880, prev=ffff8880, next=ffff8881.'],
    ['refcount_t: underflow; use-after-free.', 'refcount', 'refcount_t: underflow; use-after-free.'],
    ['refcount_t: addition on 0; use-after-free.', 'refcount', 'refcount_t: addition on 0; use-after-free.'],
    ['BUG kmalloc-64 (Tainted: G    B      O     ): Object already free', 'slub', 'BUG kmalloc-64: Object already free'],
    ['BUG kmalloc-128 (Not tainted): Poison overwritten', 'slub', 'BUG kmalloc-128: Poison overwritten'],
    ['BUG kmalloc-rnd-05-64 (Tainted: G        W): Right Redzone overwritten', 'slub', 'BUG kmalloc-rnd-05-64: Right Redzone overwritten'],
    [
      'Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b',
      'panic',
      'Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b',
    ],
    ['INFO: task kmh_hang_test:318 blocked for more than 120 seconds.', 'hung-task', 'INFO: task kmh_hang_test:318 blocked for more than 120 seconds.'],
    ['rcu: INFO: rcu_preempt self-detected stall on CPU', 'rcu-stall', 'INFO: rcu_preempt self-detected stall on CPU'],
    ['rcu: INFO: rcu_sched detected stalls on CPUs/tasks:', 'rcu-stall', 'INFO: rcu_sched detected stalls on CPUs/tasks:'],
    [
      'INFO: rcu_sched detected stalls on CPUs/tasks: { 1} (detected by 0, t=5252 jiffies, g=1, q=2)',
      'rcu-stall',
      'INFO: rcu_sched detected stalls on CPUs/tasks: { 1} (detected by 0, t=5252 jiffies, g=1, q=2)',
    ],
    [
      'rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... } 21 jiffies s: 61 root: 0x1/.',
      'rcu-stall',
      'INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... } 21 jiffies s: 61 root: 0x1/.',
    ],
    ['watchdog: Watchdog detected hard LOCKUP on cpu 1', 'hard-lockup', 'Watchdog detected hard LOCKUP on cpu 1'],
    ['WARNING: possible circular locking dependency detected', 'lockdep', 'WARNING: possible circular locking dependency detected'],
    ['WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected', 'lockdep', 'WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected'],
    ['Oops: 0002 [#1] PREEMPT SMP NOPTI', 'oops', 'Oops: 0002 [#1] PREEMPT SMP NOPTI'],
    ['Oops: Oops: 0000 [#1] SMP NOPTI', 'oops', 'Oops: Oops: 0000 [#1] SMP NOPTI'],
    ['invalid opcode: 0000 [#1] PREEMPT SMP NOPTI', 'oops', 'invalid opcode: 0000 [#1] PREEMPT SMP NOPTI'],
    ['Oops: invalid opcode: 0000 [#1] SMP KASAN PTI', 'oops', 'Oops: invalid opcode: 0000 [#1] SMP KASAN PTI'],
    ['Internal error: Oops: 96000045 [#1] SMP', 'oops', 'Internal error: Oops: 96000045 [#1] SMP'],
    ['divide error: 0000 [#1] PREEMPT SMP NOPTI', 'oops', 'divide error: 0000 [#1] PREEMPT SMP NOPTI'],
  ])('%s', (line, kind, title) => {
    expect(matchHeader(line)).toMatchObject({ kind, title });
  });

  it('ignores trailing spaces on the header line', () => {
    expect(matchHeader('PGD 0 P4D 0 ')).toBeUndefined();
    expect(matchHeader('Oops: 0000 [#1] SMP   ')?.title).toBe('Oops: 0000 [#1] SMP');
  });

  it('caps very long titles', () => {
    const hit = matchHeader(`BUG: ${'x'.repeat(500)}`);
    expect(hit?.title.length).toBeLessThanOrEqual(200);
  });

  it.each([
    'ACPI BIOS Error (bug): Could not resolve symbol [\\S6DE], AE_NOT_FOUND (20220331/psargs-330)',
    'ACPI Error: Aborting method \\_SB.PC00.LPCB.H_EC.SEN6._STA due to previous error (AE_NOT_FOUND) (20220331/psparse-529)',
    'RAS: Correctable Errors collector initialized.',
    'pcieport 0000:00:1c.5: AER: Corrected error received: 0000:02:00.0',
    'kmod_harness: something failed',
    'kmh_demo: BUG: this is only a message the module printed',
    "x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'",
    'RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!',
    'Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!',
    "systemd[1]: Failed to find module 'autofs4'",
    'lkmc_mmap: loading out-of-tree module taints kernel.',
    'lkmc_mmap: module verification failed: signature and/or required key missing - tainting kernel',
    'debug: unmapping init [mem 0xffffffffb4e6e000-0xffffffffb4e6ffff]',
    'Warning: unable to open an initial console.',
    'workqueue: blk_mq_run_work_fn hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND',
    'INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.114 msecs',
    'rcu: Hierarchical RCU implementation.',
    'Disabling lock debugging due to kernel taint',
    'KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]',
    '---[ end trace 0000000000000000 ]---',
    '------------[ cut here ]------------',
    ' ? __warn+0x7d/0xc0',
  ])('is not a header: %s', (line) => {
    expect(matchHeader(line)).toBeUndefined();
  });
});
