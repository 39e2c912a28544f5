// The clean check before a job on a shared VM: its output parsed into a verdict against the
// boot's baseline, and the command itself run by busybox's sh on this host's /proc, with a real
// process left in a jobs directory to find.
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanVerdict, guestStateCommand, parseGuestState } from '../../../harness/src/guest/clean-check.js';

const T = 'kmod-harness-state';
const base = { baseModules: ['virtio_net', 'net_failover', 'failover'], baseTaint: 0 };

function output(lines: string[]): string {
  return [...lines, `${T} end`].join('\n');
}

describe('parseGuestState', () => {
  it('reads taint, modules with their state and processes; other lines are ignored', () => {
    const state = parseGuestState(
      output([
        `${T} taint 12288`,
        'noise from the shell',
        `${T} module kmh_spin Live`,
        `${T} module virtio_net Live`,
        `${T} proc 231 /tmp/kmod-harness/77-1 spin_test`,
        `${T} proc 231 /tmp/kmod-harness/77-1/test spin_test`,
        `${T} proc 240 /tmp/kmod-harness/77-2 my test`,
      ]),
    );
    expect(state).toEqual({
      taint: 12288,
      modules: [
        { name: 'kmh_spin', state: 'Live' },
        { name: 'virtio_net', state: 'Live' },
      ],
      // cwd and exe of one process: one entry.
      processes: [
        { pid: 231, path: '/tmp/kmod-harness/77-1', comm: 'spin_test' },
        { pid: 240, path: '/tmp/kmod-harness/77-2', comm: 'my test' },
      ],
      complete: true,
    });
  });

  it('is incomplete without the end line', () => {
    expect(parseGuestState(`${T} taint 0\n`).complete).toBe(false);
  });
});

describe('cleanVerdict', () => {
  it('is clean when only the boot modules are loaded and only O and E were added to the taint', () => {
    const state = parseGuestState(output([`${T} taint 12288`, ...base.baseModules.map((m) => `${T} module ${m} Live`)]));
    expect(cleanVerdict(state, base)).toEqual({ clean: true });
  });

  it('names a module of an earlier job, with its state when it is not live', () => {
    expect(cleanVerdict(parseGuestState(output([`${T} taint 0`, `${T} module virtio_net Live`, `${T} module kmh_x Live`])), base)).toEqual({
      clean: false,
      why: 'module kmh_x was still loaded',
    });
    expect(cleanVerdict(parseGuestState(output([`${T} taint 0`, `${T} module kmh_oops_load Loading`])), base)).toEqual({
      clean: false,
      why: 'module kmh_oops_load was still loaded (Loading)',
    });
  });

  it('names a process left by an earlier test', () => {
    const state = parseGuestState(output([`${T} taint 0`, `${T} proc 231 /tmp/kmod-harness/77-1 spin_test`]));
    expect(cleanVerdict(state, base)).toEqual({ clean: false, why: 'process 231 (spin_test) of an earlier test was still running (/tmp/kmod-harness/77-1)' });
  });

  it('names taint set since boot, beside the boot taint and O/E', () => {
    // Booted with W (512); now D (128) + W + O + E.
    const state = parseGuestState(output([`${T} taint ${128 + 512 + 4096 + 8192}`]));
    expect(cleanVerdict(state, { baseModules: [], baseTaint: 512 })).toEqual({
      clean: false,
      why: 'taint D (kernel died recently, i.e. there was an OOPS or BUG) was set since boot',
    });
  });

  it('lists every problem, and fails a check that did not run to its end', () => {
    const state = parseGuestState(output([`${T} taint 512`, `${T} module kmh_x Live`, `${T} proc 9 /tmp/kmod-harness/1-1 t`]));
    expect(cleanVerdict(state, base)).toEqual({
      clean: false,
      why: 'module kmh_x was still loaded; process 9 (t) of an earlier test was still running (/tmp/kmod-harness/1-1); taint W (kernel issued a warning) was set since boot',
    });
    expect(cleanVerdict(parseGuestState(`${T} taint 0\n${T} module kmh_x Live\n`), base)).toEqual({
      clean: false,
      why: 'the guest did not answer the clean check to its end',
    });
  });
});

describe('guestStateCommand', () => {
  it("runs in busybox sh: finds a process whose cwd is in the jobs dir, and reads the host's taint", async () => {
    const jobs = await mkdtemp(path.join(tmpdir(), 'kmh-clean-'));
    const dir = path.join(jobs, '77-1');
    await execa('mkdir', [dir]);
    const sleeper = execa('sleep', ['30'], { cwd: dir, reject: false });
    try {
      const { stdout } = await execa('busybox', ['sh', '-c', guestStateCommand(jobs)]);
      const state = parseGuestState(stdout);
      expect(state.complete).toBe(true);
      expect(state.taint).toBe(Number((await readFile('/proc/sys/kernel/tainted', 'utf8')).trim()));
      expect(state.processes).toEqual([{ pid: sleeper.pid, path: dir, comm: 'sleep' }]);
      const verdict = cleanVerdict(state, { baseModules: state.modules.map((m) => m.name), baseTaint: state.taint! });
      expect(verdict).toEqual({ clean: false, why: `process ${sleeper.pid} (sleep) of an earlier test was still running (${dir})` });
    } finally {
      sleeper.kill('SIGKILL');
      await sleeper;
      await rm(jobs, { recursive: true, force: true });
    }
  });
});
