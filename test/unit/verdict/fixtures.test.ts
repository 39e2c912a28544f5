// Every kernel-log fixture through the real parsers and detector: one expected report per
// kind, the benign logs clean, and each fixture saying where its format came from.
import { describe, expect, it } from 'vitest';
import { detectKernelErrors } from '../../../harness/src/verdict/detect.js';
import { matchInOrder } from '../../../harness/src/verdict/expect.js';
import { sliceStage } from '../../../harness/src/verdict/kmsg.js';
import { fixtureNames, loadFixture, readFixture } from './fixtures.js';

interface Expected {
  kind: string;
  title: string;
  module?: string;
  /** A frame the trace must contain. */
  frame?: string;
}

const EXPECTED: Record<string, Expected[]> = {
  'warning.dmesg': [
    {
      kind: 'warning',
      title: 'WARNING at /tmp/kmh/kmh_warn.c:42 kmh_warn_read+0x4e/0x80 [kmh_warn]',
      module: 'kmh_warn',
      frame: 'ksys_read+0x6b/0xf0',
    },
  ],
  'oops-null.console': [
    {
      kind: 'bug',
      title: 'BUG: kernel NULL pointer dereference, address: 0000000000000000',
      module: 'kmh_null',
      frame: 'vfs_write+0xc8/0x410',
    },
  ],
  'page-fault.dmesg': [
    {
      kind: 'bug',
      title: 'BUG: unable to handle page fault for address: ffffb1a1c0a5d000',
      module: 'kmh_vmap',
      frame: '__x64_sys_ioctl+0x8d/0xd0',
    },
  ],
  'sleeping-atomic.dmesg': [
    {
      kind: 'bug',
      title: 'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274',
      module: 'kmh_sleep',
      frame: 'kmh_sleep_ioctl+0x3a/0x70 [kmh_sleep]',
    },
    {
      kind: 'bug',
      title: 'BUG: scheduling while atomic: kmh_sleep_test/279/0x00000002',
      module: 'kmh_sleep',
      frame: 'msleep+0x2d/0x40',
    },
  ],
  'soft-lockup.console': [
    {
      kind: 'bug',
      title: 'BUG: soft lockup - CPU#1 stuck for 26s! [kmh_spin_test:301]',
      module: 'kmh_spin',
      frame: 'vfs_write+0xc8/0x410',
    },
  ],
  'kernel-bug.dmesg': [{ kind: 'kernel-bug', title: 'kernel BUG at /tmp/kmh/kmh_bug.c:31!', module: 'kmh_bug', frame: 'misc_open+0x11a/0x170' }],
  'gpf.dmesg': [
    {
      kind: 'gpf',
      title: 'general protection fault, probably for non-canonical address 0xdead000000000122',
      module: 'kmh_gpf',
      frame: '__do_sys_delete_module+0x1a5/0x2d0',
    },
  ],
  'kasan.dmesg': [
    {
      kind: 'kasan',
      title: 'BUG: KASAN: slab-use-after-free in kmh_uaf_read+0x8f/0xb0 [kmh_uaf]',
      module: 'kmh_uaf',
      frame: 'kasan_report+0xd3/0x110',
    },
  ],
  'kfence.dmesg': [
    {
      kind: 'kfence',
      title: 'BUG: KFENCE: out-of-bounds read in kmh_kfence_read+0x2b/0x50 [kmh_kfence]',
      module: 'kmh_kfence',
      frame: 'kmh_kfence_read+0x2b/0x50 [kmh_kfence]',
    },
  ],
  'ubsan.dmesg': [
    {
      kind: 'ubsan',
      title: 'UBSAN: array-index-out-of-bounds in /tmp/kmh/kmh_ubsan.c:27:14',
      module: 'kmh_ubsan',
      frame: '__ubsan_handle_out_of_bounds.cold+0x44/0x49',
    },
  ],
  'kmemleak.dmesg': [
    {
      kind: 'kmemleak',
      title: 'kmemleak: unreferenced object 0xffff8880045e5f40 (size 64)',
      module: 'kmh_leak',
      frame: 'kmh_leak_init+0x1e/0x1000 [kmh_leak]',
    },
    {
      kind: 'kmemleak',
      title: 'kmemleak: unreferenced object 0xffff8880045e5f80 (size 64)',
      module: 'kmh_leak',
      frame: 'do_init_module+0x4a/0x200',
    },
  ],
  'list-corruption.dmesg': [
    {
      kind: 'list-corruption',
      title: 'list_del corruption. prev->next should be ffff8e7f43c1a6c8, but was dead000000000100. (prev=ffff8e7f43c1a6c8)',
      module: 'kmh_list',
      frame: 'kmh_list_remove+0x2c/0x60 [kmh_list]',
    },
  ],
  'refcount.dmesg': [{ kind: 'refcount', title: 'refcount_t: underflow; use-after-free.', module: 'kmh_ref', frame: '__fput+0xf6/0x290' }],
  'slub.dmesg': [{ kind: 'slub', title: 'BUG kmalloc-64: Object already free', module: 'kmh_dfree', frame: '__slab_free+0x2c6/0x490' }],
  'panic.console': [
    {
      kind: 'panic',
      title: 'Kernel panic - not syncing: kmh_panic: panic requested by test',
      module: 'kmh_panic',
      frame: 'panic+0x118/0x2e4',
    },
  ],
  'hung-task.dmesg': [
    {
      kind: 'hung-task',
      title: 'INFO: task kmh_hang_test:318 blocked for more than 120 seconds.',
      module: 'kmh_hang',
      frame: '__mutex_lock.constprop.0+0x3b4/0x700',
    },
  ],
  'rcu-stall.console': [
    {
      kind: 'rcu-stall',
      title: 'INFO: rcu_preempt self-detected stall on CPU',
      module: 'kmh_spin',
      frame: 'rcu_dump_cpu_stacks+0xf4/0x130',
    },
  ],
  'debian-6.1-cloud-boot.dmesg': [],
  'benign-lines.dmesg': [],
};

describe('kernel-log fixtures', () => {
  it('are all listed here, so none goes unchecked', () => {
    expect(fixtureNames()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(fixtureNames())('%s says where its format came from', (name) => {
    const { header } = readFixture(name);
    expect(header.length).toBeGreaterThan(0);
    expect(header.join('\n')).toMatch(/Format:|Source:/);
  });

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const errors = detectKernelErrors(loadFixture(name));
    expect(errors.map((e) => ({ kind: e.kind, title: e.title, module: e.module }))).toEqual(
      expected.map((e) => ({ kind: e.kind, title: e.title, module: e.module })),
    );
    expected.forEach((e, i) => {
      if (e.frame !== undefined) expect(errors[i]!.trace).toContain(e.frame);
      expect(errors[i]!.trace.length).toBeGreaterThan(0);
    });
  });

  it('confine the warning to the test stage of its log', () => {
    const records = loadFixture('warning.dmesg');
    expect(detectKernelErrors(sliceStage(records, 'load'))).toEqual([]);
    expect(detectKernelErrors(sliceStage(records, 'test')).map((e) => e.kind)).toEqual(['warning']);
    expect(detectKernelErrors(sliceStage(records, 'unload'))).toEqual([]);
  });

  it('slice a stage the guest never finished to the end of the log', () => {
    const unload = sliceStage(loadFixture('gpf.dmesg'), 'unload');
    expect(unload.at(-1)?.text).toMatch(/^CR2: /);
    expect(detectKernelErrors(unload).map((e) => e.kind)).toEqual(['gpf']);
  });

  it('find the module log lines of the clean boot in order', () => {
    const test = sliceStage(loadFixture('debian-6.1-cloud-boot.dmesg'), 'test');
    expect(matchInOrder(test, ['lkmc_mmap: write', 'lkmc_mmap: vm_close'])).toEqual({ ok: true });
    expect(matchInOrder(test, ['lkmc_mmap: vm_close', 'lkmc_mmap: write'])).toEqual({
      ok: false,
      missing: 'lkmc_mmap: write',
      matched: 1,
      after: 'lkmc_mmap: vm_close',
    });
  });

  it('parse the console captures without the interleaved shell output', () => {
    const records = loadFixture('oops-null.console');
    expect(records.every((r) => r.time !== undefined)).toBe(true);
    expect(records.some((r) => r.text.includes('Killed') || r.text.includes('/ #'))).toBe(false);
    expect(records.find((r) => r.text.includes('ksys_write'))?.text).toBe(' ksys_write+0x6b/0xf0');
  });
});
