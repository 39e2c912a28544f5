// The judge on real runs of the lifecycle fixtures (test/fixtures/modules, expect.json
// "lifecycle"), captured by test/fixtures/kmsg/captured/lifecycle/capture.mjs: each job is
// rebuilt from its captured parts (dmesg, console, the section addresses the guest printed,
// the registrations before and after, the .ko's readelf) and judged as runBuilt and
// judgeAfterPoweroff judge it, symbols and all.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { untag, type JobRaw } from '../../../harness/src/guest/job.js';
import { detectKernelErrors } from '../../../harness/src/verdict/detect.js';
import { blameFreedText, judgeJob, lateKernelErrors, type JudgedError, type JudgeOptions } from '../../../harness/src/verdict/judge.js';
import { parseConsole, parseDmesg, sliceStage } from '../../../harness/src/verdict/kmsg.js';
import { parseFuncSymbols, symbolizeAddress, type ModuleSection } from '../../../harness/src/verdict/leaks.js';
import { newEntries } from '../../../harness/src/verdict/leftovers.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/kmsg/captured/lifecycle');
const JOB = 'job1';
const file = (name: string) => readFileSync(path.join(dir, name), 'utf8');
/** A log without its `#` header line. */
const log = (name: string) => file(name).replace(/^#.*\n/, '');

interface Capture {
  raw: JobRaw;
  console: string;
  locate: NonNullable<JudgeOptions['locate']>;
  /** judgeJob's options as runBuilt passes them for this job. */
  options: JudgeOptions;
}

/** One captured job of `module` on one kernel (`<series>-<fixture>`), as the harness held it. */
function capture(name: string, module: string): Capture {
  const saved = JSON.parse(file(`${name}.job.json`)) as {
    raw: Omit<JobRaw, 'sections' | 'entries' | 'dmesg' | 'kmemleak' | 'timedOutStage' | 'reloads'> &
      Partial<Pick<JobRaw, 'timedOutStage'>> & {
        reloads: Array<Omit<JobRaw['reloads'][number], 'unload'> & Partial<Pick<JobRaw['reloads'][number], 'unload'>>>;
      };
  };
  const tagged = { taint: {}, stillLoaded: [] as string[], sections: [] as ModuleSection[], entries: {} as JobRaw['entries'] };
  untag(file(`${name}.sections`), tagged);
  // The .entries file keeps only what differs; its presence says both lists were read.
  if (existsSync(path.join(dir, `${name}.entries`))) {
    tagged.entries = { before: [], after: [] };
    untag(file(`${name}.entries`), tagged);
  }
  const raw: JobRaw = {
    ...saved.raw,
    reloads: saved.raw.reloads.map((r) => ({ unload: undefined, ...r })),
    sections: tagged.sections,
    entries: tagged.entries,
    dmesg: existsSync(path.join(dir, `${name}.dmesg`)) ? log(`${name}.dmesg`) : undefined,
    kmemleak: undefined,
    timedOutStage: saved.raw.timedOutStage,
  };
  const symbols = new Map([[module, parseFuncSymbols(file(`${name}.readelf-s.txt`), file(`${name}.readelf-S.txt`), ['FUNC', 'OBJECT'])]]);
  const locate = (address: bigint) => symbolizeAddress(address, raw.sections, symbols);
  return { raw, console: log(`${name}.console`), locate, options: { expected: [], leaks: [], modules: [module], locate } };
}

/** What a test asserts of a judged error; fields absent are undefined. */
const summary = (errors: readonly JudgedError[]) =>
  errors.map((e) => ({ kind: e.kind, title: e.title, stage: e.stage, module: e.module, freedText: e.freedText, fromConsole: e.fromConsole }));

const freed = (title: string, module: string, where: string) => `${title} (module ${module}: at ${where}, in the module's memory after it was unloaded)`;

describe('captured lifecycle runs', () => {
  it('6.1 timer-after-unload: the panic in the settle window, read from the console, is after-unload and blamed through the freed text', () => {
    const c = capture('6.1-timer-after-unload', 'kmh_timer_unload');
    // As the harness saw it: the guest died in the settle window, dmesg was never read.
    expect(c.raw).toMatchObject({ dmesg: undefined, guestLost: true, settled: false });
    const title = 'BUG: unable to handle page fault for address: ffffffffc064f000';
    const where = 'kmh_timer_unload_fire+0x0/0x15 [kmh_timer_unload]';
    const v = judgeJob(c.raw, JOB, c.console, c.options);
    expect(v.outcome).toBe('kernel-error');
    expect(v.logSource).toBe('console');
    expect(summary(v.kernelErrors)).toEqual([{ kind: 'bug', title, stage: 'after-unload', module: 'kmh_timer_unload', freedText: where }]);
    expect(v.reasons).toEqual([freed(title, 'kmh_timer_unload', where)]);
    // One report: the BUG, its Oops and the panic that ended the guest.
    const [e] = v.kernelErrors;
    const report = v.records.slice(e!.recordIndex, e!.endIndex).map((r) => r.text);
    expect(report).toContain('Oops: 0010 [#1] PREEMPT SMP NOPTI');
    expect(report.at(-1)).toBe('Kernel panic - not syncing: Fatal exception in interrupt');
    expect(e!.trace.slice(0, 3)).toEqual(['<IRQ>', '? call_timer_fn+0x27/0x130', '? __run_timers+0x222/0x2c0']);
    // Without the module's sections and symbols nothing names it.
    expect(judgeJob(c.raw, JOB, c.console, { ...c.options, locate: () => undefined }).reasons).toEqual([
      `${title} (in the kernel itself: no frame of a module in the report)`,
    ]);

    // judgeAfterPoweroff on the same console: found once, and not again once counted.
    expect(summary(lateKernelErrors(c.console, JOB, [], c.locate))).toEqual([
      { kind: 'bug', title, stage: 'after-unload', module: 'kmh_timer_unload', freedText: where, fromConsole: true },
    ]);
    expect(lateKernelErrors(c.console, JOB, v.kernelErrors, c.locate)).toEqual([]);
  });

  it('7.2 timer-after-unload: the int3 oops in the refilled freed text names no address in its title; its RIP line blames the module', () => {
    const c = capture('7.2-timer-after-unload', 'kmh_timer_unload');
    expect(c.raw).toMatchObject({ dmesg: undefined, guestLost: true, settled: false });
    const title = 'Oops: int3: 0000 [#1] SMP NOPTI';
    // One past the trap: the first byte of the function, after its 16-byte __pfx_ padding.
    const where = 'kmh_timer_unload_fire+0x1/0x19 [kmh_timer_unload]';
    const v = judgeJob(c.raw, JOB, c.console, c.options);
    expect(v.outcome).toBe('kernel-error');
    expect(summary(v.kernelErrors)).toEqual([{ kind: 'oops', title, stage: 'after-unload', module: 'kmh_timer_unload', freedText: where }]);
    expect(v.reasons).toEqual([freed(title, 'kmh_timer_unload', where)]);
    const [e] = v.kernelErrors;
    const report = v.records.slice(e!.recordIndex, e!.endIndex).map((r) => r.text);
    expect(report.at(-1)).toBe('Kernel panic - not syncing: Fatal exception in interrupt');
    // The title and trace alone blame nothing: the RIP line does.
    expect(blameFreedText([e!.title, ...e!.trace], c.locate)).toBeUndefined();
    expect(
      blameFreedText(
        report.filter((l) => l.startsWith('RIP: ')),
        c.locate,
      ),
    ).toBe(where);

    expect(summary(lateKernelErrors(c.console, JOB, [], c.locate))).toEqual([
      { kind: 'oops', title, stage: 'after-unload', module: 'kmh_timer_unload', freedText: where, fromConsole: true },
    ]);
    expect(lateKernelErrors(c.console, JOB, v.kernelErrors, c.locate)).toEqual([]);
  });

  it('6.1 work-after-unload: the kworker oops the guest survives is read from dmesg once (the console has it too), after-unload, blamed through the freed text', () => {
    const c = capture('6.1-work-after-unload', 'kmh_work_unload');
    expect(c.raw).toMatchObject({ guestLost: false, settled: true });
    expect(c.raw.dmesg).toBeDefined();
    const title = 'BUG: unable to handle page fault for address: ffffffffc02f7000';
    const where = 'kmh_work_unload_fn+0x0/0x1e [kmh_work_unload]';
    // The console holds the same report: only one may count.
    expect(detectKernelErrors(parseConsole(c.console)).map((e) => e.title)).toEqual([title]);
    const v = judgeJob(c.raw, JOB, c.console, c.options);
    expect(v.outcome).toBe('kernel-error');
    expect(v.logSource).toBe('dmesg');
    expect(summary(v.kernelErrors)).toEqual([{ kind: 'bug', title, stage: 'after-unload', module: 'kmh_work_unload', freedText: where }]);
    expect(v.reasons).toEqual([
      freed(title, 'kmh_work_unload', where),
      'new taint: D (kernel died recently, i.e. there was an OOPS or BUG) after after-unload',
    ]);
    expect(v.kernelErrors[0]!.trace).toContain('? process_one_work+0x1c7/0x380');
    // The report precedes the job's last marker: nothing is late, counted or not.
    expect(lateKernelErrors(c.console, JOB, v.kernelErrors, c.locate)).toEqual([]);
    expect(lateKernelErrors(c.console, JOB, [], c.locate)).toEqual([]);
  });

  it("6.1 leftover-proc: the /proc entry rmmod left is an after-unload leftover, then the reload's two 'already registered' WARNs at reload, in that order", () => {
    const c = capture('6.1-leftover-proc', 'kmh_leftover');
    expect(newEntries(c.raw.entries.before!, c.raw.entries.after!)).toEqual(['/proc/kmh_leftover']);
    const warn = 'WARNING at fs/proc/generic.c:400 proc_register+0x19f/0x240';
    const v = judgeJob(c.raw, JOB, c.console, c.options);
    expect(v.outcome).toBe('kernel-error');
    expect(summary(v.kernelErrors)).toEqual([
      { kind: 'leftover', title: 'left behind after rmmod of kmh_leftover: /proc/kmh_leftover', stage: 'after-unload', module: 'kmh_leftover' },
      { kind: 'warning', title: warn, stage: 'reload', module: 'kmh_leftover' },
      { kind: 'warning', title: warn, stage: 'reload', module: 'kmh_leftover' },
    ]);
    expect(v.reasons).toEqual([
      'left behind after rmmod of kmh_leftover: /proc/kmh_leftover',
      `${warn} (module kmh_leftover)`,
      `${warn} (module kmh_leftover)`,
      'new taint: W (kernel issued a warning) after reload',
      "on reload (the first load and unload succeeded): insmod exited with status 12: insmod: can't insert '/tmp/kmod-harness/job1/kmh_leftover.ko': Cannot allocate memory",
    ]);
    // The trace reader goes past the bare frame of the module's init, not yet in kallsyms.
    expect(v.kernelErrors[1]!.trace.slice(0, 3)).toEqual(['<TASK>', '? 0xffffffffc0400000', 'kmh_leftover_init+0x1f/0x1000 [kmh_leftover]']);
    // Without the registrations read after the settle there is no leftover, only the WARNs.
    expect(judgeJob({ ...c.raw, entries: { before: c.raw.entries.before! } }, JOB, c.console, c.options).kernelErrors.map((e) => e.kind)).toEqual([
      'warning',
      'warning',
    ]);
  });

  it("6.1 reload-collision: the sysfs duplicate's dump_stack on the second load is no kernel error; the outcome is load-failed on reload", () => {
    const c = capture('6.1-reload-collision', 'kmh_reload');
    const records = parseDmesg(c.raw.dmesg!);
    const reload = sliceStage(records, `reload:${JOB}`).map((r) => r.text);
    // busybox insmod tries finit_module, then init_module: the dump comes twice.
    expect(reload.filter((t) => t === "sysfs: cannot create duplicate filename '/kernel/kmh_reload'")).toHaveLength(2);
    expect(reload.filter((t) => t === 'Call Trace:')).toHaveLength(2);
    expect(reload).toContain(' kmh_reload_init+0x18/0x1000 [kmh_reload]');
    expect(detectKernelErrors(records)).toEqual([]);
    expect(detectKernelErrors(parseConsole(c.console))).toEqual([]);
    const v = judgeJob(c.raw, JOB, c.console, c.options);
    expect(v.outcome).toBe('load-failed');
    expect(v.kernelErrors).toEqual([]);
    expect(v.reasons).toEqual([
      "on reload (the first load and unload succeeded): insmod exited with status 12: insmod: can't insert '/tmp/kmod-harness/job1/kmh_reload.ko': Cannot allocate memory",
    ]);
    expect(lateKernelErrors(c.console, JOB, [], c.locate)).toEqual([]);
  });

  it('6.1 log-flood-after-warn: the WARN the flood pushed out of dmesg is found on the console, at the test stage', () => {
    const c = capture('6.1-log-flood-after-warn', 'kmh_log_flood');
    const dmesg = parseDmesg(c.raw.dmesg!).map((r) => r.text);
    // dmesg lost the WARN and the job's first markers; only the console has them.
    expect(dmesg.some((t) => t.startsWith('WARNING:'))).toBe(false);
    expect(dmesg).not.toContain(`kmod-harness: mark load:${JOB} begin`);
    expect(dmesg).not.toContain(`kmod-harness: mark test:${JOB} begin`);
    expect(dmesg).toContain(`kmod-harness: mark test:${JOB} end`);
    const title = 'WARNING at /work/main/test/fixtures/modules/log-flood-after-warn/module/kmh_log_flood.c:42 kmh_log_flood_read+0x34/0x3b [kmh_log_flood]';
    const v = judgeJob(c.raw, JOB, c.console, c.options);
    expect(v.outcome).toBe('kernel-error');
    expect(v.logSource).toBe('dmesg');
    expect(summary(v.kernelErrors)).toEqual([{ kind: 'warning', title, stage: 'test', module: 'kmh_log_flood', fromConsole: true }]);
    expect(v.reasons).toEqual([title, 'new taint: W (kernel issued a warning) after test']);
    expect(lateKernelErrors(c.console, JOB, v.kernelErrors, c.locate)).toEqual([]);
  });
});
