// One module-under-test cycle inside a booted guest: upload, insmod, run the test, rmmod,
// wait out a settle window (timers and work the module left behind fire there), compare what
// is registered with what was before the load, load and unload once more, read the kernel log.
// Each stage is fenced by marker lines in /dev/kmsg so the verdict can attribute kernel errors
// to the stage that caused them.
import path from 'node:path';
import { TimeoutError } from '../errors.js';
import { withDeadline } from '../util/timers.js';
import { stageMarker } from '../verdict/index.js';
import type { JobRaw, TaintPoint } from '../job-raw.js';
import { snapshotCommand } from '../verdict/leftovers.js';
import { ExecTimeoutError, type ExecResult, type GuestConnection } from './ssh.js';

export interface JobSpec {
  /** Unique within one VM, so markers of several jobs do not mix. */
  id: string;
  kos: string[];
  names: string[];
  testBinary: string;
  testArgs?: string[];
  timeouts: { uploadMs?: number; loadMs: number; testMs: number; unloadMs: number };
  /**
   * After rmmod, wait this long before reading taint and the registrations again: a timer or a
   * work item the module left armed fires into its freed text within it. 0 skips the wait.
   */
  settleMs: number;
  /** Load and unload cycles after the first one (a dangling registration collides there). */
  reloads: number;
  /** Compare what is registered before insmod and after the settle (verdict/leftovers.ts). */
  leftovers: boolean;
  /**
   * On a kmemleak kernel: after rmmod, scan for leaks. kmemleak never reports an object younger
   * than `minAgeMs` (5 s in the kernel), so the scan waits until the test ended that long ago.
   */
  leakScan?: { minAgeMs: number; timeoutMs: number };
}

export type { JobRaw, ModuleSection, TaintPoint } from '../job-raw.js';

export const GUEST_DIR = '/tmp/kmod-harness';

const DEFAULT_UPLOAD_MS = 60_000;

/** Shell that waits out the settle window after an rmmod (nothing when it is 0). */
function settleWait(ms: number): string[] {
  return ms > 0 ? [`sleep ${(ms / 1000).toFixed(3)}`] : [];
}

/** A shell-safe single-quoted word. */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function mark(stage: string, id: string, edge: 'begin' | 'end'): string {
  return `echo ${shq(stageMarker(`${stage}:${id}`, edge))} > /dev/kmsg`;
}

export function parseTaint(text: string | undefined): number | undefined {
  const n = Number.parseInt((text ?? '').trim(), 10);
  return Number.isFinite(n) ? n : undefined;
}

const TAINT_TAG = 'kmod-harness-taint';
const STILL_LOADED_TAG = 'kmod-harness-still-loaded';
const SECTION_TAG = 'kmod-harness-section';
const ENTRY_TAG = 'kmod-harness-entry';
export const KMEMLEAK_FILE = '/sys/kernel/debug/kmemleak';
/** The most of kmemleak's report read back: ~1500 objects. */
export const KMEMLEAK_MAX_BYTES = 1_048_576;

/** Shell that prints the taint mask as one tagged line. */
function readTaint(point: TaintPoint): string {
  return `echo "${TAINT_TAG} ${point} $(cat /proc/sys/kernel/tainted)"`;
}

/** Shell that prints the registrations of verdict/leftovers.ts, tagged with `when`. */
function readEntries(when: 'before' | 'after'): string {
  return `{ ${snapshotCommand()}; } 2>/dev/null | sed 's|^|${ENTRY_TAG} ${when} |'`;
}

/** Shell that prints each module's code and data section addresses (root reads them unhashed). */
function readSections(names: readonly string[]): string {
  return `for m in ${names.map(shq).join(' ')}; do for s in /sys/module/$m/sections/.*text* /sys/module/$m/sections/.*data* /sys/module/$m/sections/.bss; do [ -r "$s" ] && echo "${SECTION_TAG} $m \${s##*/} $(cat "$s")"; done; done`;
}

/** Shell that SIGKILLs every process running `binary`. */
function killByExe(binary: string): string {
  return `for p in /proc/[0-9]*; do [ "$(readlink $p/exe 2>/dev/null)" = ${shq(binary)} ] && kill -9 \${p#/proc/}; done; true`;
}

/** Shell that lists the modules still in /proc/modules, tagged. */
function readStillLoaded(names: readonly string[]): string {
  return `for m in ${names.map(shq).join(' ')}; do grep -q "^$m " /proc/modules && echo "${STILL_LOADED_TAG} $m"; done`;
}

type Tagged = Pick<JobRaw, 'taint' | 'stillLoaded' | 'sections'> & { entries?: JobRaw['entries'] };

/** Pull the harness's tagged lines out of a command's stdout; the rest is the command's own. */
export function untag(stdout: string, raw: Tagged): string {
  const own: string[] = [];
  for (const line of stdout.split('\n')) {
    const [tag, a, b, c] = line.split(' ');
    if (tag === TAINT_TAG && a) raw.taint[a as TaintPoint] = parseTaint(b);
    else if (tag === STILL_LOADED_TAG && a) raw.stillLoaded.push(a);
    else if (tag === SECTION_TAG && a && b && c && /^0x[0-9a-f]+$/.test(c)) raw.sections.push({ module: a, section: b, address: BigInt(c) });
    else if (tag === ENTRY_TAG && raw.entries && (a === 'before' || a === 'after')) (raw.entries[a] ??= []).push(line.slice(tag.length + a.length + 2));
    else own.push(line);
  }
  return own.join('\n');
}

/** Where uploadBuilt puts the modules and the test binary in the guest. */
export function guestPaths(dir: string, kos: readonly string[]): { kos: string[]; test: string } {
  return { kos: kos.map((ko) => `${dir}/${path.basename(ko)}`), test: `${dir}/test` };
}

/** Upload the modules and the test binary into `dir` in the guest; returns their guest paths. */
export async function uploadBuilt(conn: GuestConnection, dir: string, kos: readonly string[], testBinary: string): Promise<{ kos: string[]; test: string }> {
  const remote = guestPaths(dir, kos);
  await conn.exec(`mkdir -p ${shq(dir)}`);
  await Promise.all([...kos.map((ko, i) => conn.upload(ko, remote.kos[i]!, 0o644)), conn.upload(testBinary, remote.test, 0o755)]);
  return remote;
}

/** Shell that loads the modules in order, stopping at the first failure; `$rc` is insmod's status. */
export function insmodAll(remoteKos: readonly string[]): string {
  return `rc=0; for ko in ${remoteKos.map(shq).join(' ')}; do insmod "$ko" || { rc=$?; break; }; done`;
}

/** Shell that unloads the modules in reverse order, trying each; `$rc` is the last failure's status. */
export function rmmodAll(names: readonly string[]): string {
  return `rc=0; for m in ${[...names].reverse().map(shq).join(' ')}; do rmmod "$m" || rc=$?; done`;
}

export async function runJob(conn: GuestConnection, spec: JobSpec): Promise<JobRaw> {
  const stageMs: Record<string, number> = {};
  const raw: JobRaw = {
    taint: {},
    load: { exitCode: null, signal: null, stdout: '', stderr: '' },
    test: undefined,
    unload: undefined,
    stillLoaded: [],
    sections: [],
    settled: false,
    entries: {},
    reloads: [],
    kmemleak: undefined,
    dmesg: undefined,
    timedOutStage: undefined,
    guestLost: false,
    stageMs,
  };
  const dir = `${GUEST_DIR}/${spec.id}`;
  const { kos: remoteKos, test: remoteTest } = guestPaths(dir, spec.kos);
  let timedOutOutput: ExecResult | undefined;

  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const start = performance.now();
    try {
      return await fn();
    } catch (error) {
      if (error instanceof TimeoutError) {
        raw.timedOutStage = name;
        return undefined;
      }
      throw error;
    } finally {
      stageMs[name] = (stageMs[name] ?? 0) + Math.round(performance.now() - start);
    }
  };

  try {
    // SFTP has no limit of its own.
    const uploaded = await stage('upload', () =>
      withDeadline('upload', (spec.timeouts.uploadMs ?? DEFAULT_UPLOAD_MS) / 1000, () => uploadBuilt(conn, dir, spec.kos, spec.testBinary)),
    );
    if (!uploaded) return raw;

    const load = await stage('load', () =>
      conn.exec(
        [
          readTaint('before'),
          ...(spec.leftovers ? [readEntries('before')] : []),
          // Leaks an earlier job in this VM already reported are not this job's: kmemleak lists
          // every reported object until cleared, and a module loaded where another was may
          // hand out the same addresses.
          ...(spec.leakScan ? [`[ -w ${KMEMLEAK_FILE} ] && echo clear > ${KMEMLEAK_FILE}`] : []),
          mark('load', spec.id, 'begin'),
          insmodAll(remoteKos),
          mark('load', spec.id, 'end'),
          readTaint('load'),
          readSections(spec.names),
          'exit $rc',
        ].join('; '),
        { timeoutMs: spec.timeouts.loadMs, stage: 'load' },
      ),
    );
    if (!load) return raw;
    raw.load = { ...load, stdout: untag(load.stdout, raw) };
    if (load.exitCode !== 0) return raw;

    await conn.exec(mark('test', spec.id, 'begin'));
    // exec: the test replaces the shell, so a crash reaches us as a signal, not as status 139.
    raw.test = await stage('test', () =>
      conn
        .exec(`cd ${shq(dir)} && exec ${[remoteTest, ...(spec.testArgs ?? [])].map(shq).join(' ')}`, { timeoutMs: spec.timeouts.testMs, stage: 'test' })
        .catch((error: unknown) => {
          if (error instanceof ExecTimeoutError) timedOutOutput = error.partial;
          throw error;
        }),
    );
    if (!raw.test) {
      // Keep what it printed, and stop it: closing the channel does not end a process stuck in the kernel or ignoring SIGHUP.
      raw.test = timedOutOutput;
      if (timedOutOutput) await conn.exec(killByExe(remoteTest), { timeoutMs: 5_000, stage: 'kill-test' }).catch(() => undefined);
      return raw;
    }

    const unload = await stage('unload', () =>
      conn.exec(
        [
          mark('test', spec.id, 'end'),
          readTaint('test'),
          mark('unload', spec.id, 'begin'),
          rmmodAll(spec.names),
          mark('unload', spec.id, 'end'),
          readTaint('unload'),
          readStillLoaded(spec.names),
          'exit $rc',
        ].join('; '),
        { timeoutMs: spec.timeouts.unloadMs, stage: 'unload' },
      ),
    );
    if (!unload) return raw;
    raw.unload = { ...unload, stdout: untag(unload.stdout, raw) };
    const testEnded = performance.now() - (stageMs.unload ?? 0);
    const unloaded = raw.unload.exitCode === 0 && raw.stillLoaded.length === 0;
    if (!unloaded) return raw;

    // What a module leaves running strikes in its freed text a little after rmmod returned.
    const settle = await stage('settle', () =>
      conn.exec(
        [
          mark('after-unload', spec.id, 'begin'),
          ...settleWait(spec.settleMs),
          readTaint('settle'),
          ...(spec.leftovers ? [readEntries('after')] : []),
          mark('after-unload', spec.id, 'end'),
        ].join('; '),
        { timeoutMs: spec.settleMs + spec.timeouts.unloadMs, stage: 'settle' },
      ),
    );
    if (!settle) return raw;
    untag(settle.stdout, raw);
    // No status: the guest died in the window (the console has why).
    raw.settled = settle.exitCode === 0;
    if (!raw.settled) return raw;

    for (let cycle = 1; cycle <= spec.reloads; cycle++) {
      const reload: JobRaw['reloads'][number] = { load: { exitCode: null, signal: null, stdout: '', stderr: '' }, unload: undefined, stillLoaded: [] };
      raw.reloads.push(reload);
      const again = await stage('reload', () =>
        conn.exec([mark('reload', spec.id, 'begin'), insmodAll(remoteKos), readSections(spec.names), 'exit $rc'].join('; '), {
          timeoutMs: spec.timeouts.loadMs,
          stage: 'reload',
        }),
      );
      if (!again) return raw;
      reload.load = { ...again, stdout: untag(again.stdout, raw) };
      // Unload what did load, even when a later module of the job failed to; then settle again,
      // or what this unload left armed would strike while the guest powers off, unseen.
      const out = await stage('reload', () =>
        conn.exec(
          [
            rmmodAll(spec.names),
            'urc=$rc',
            ...settleWait(spec.settleMs),
            mark('reload', spec.id, 'end'),
            readTaint('reload'),
            readStillLoaded(spec.names),
            'exit $urc',
          ].join('; '),
          {
            timeoutMs: spec.timeouts.unloadMs + spec.settleMs,
            stage: 'reload',
          },
        ),
      );
      if (!out) return raw;
      const tagged = { taint: raw.taint, stillLoaded: reload.stillLoaded, sections: raw.sections };
      const unloadOut = { ...out, stdout: untag(out.stdout, tagged) };
      if (again.exitCode === 0 || unloadOut.exitCode === 0) reload.unload = unloadOut;
      if (again.exitCode !== 0 || unloadOut.exitCode !== 0 || reload.stillLoaded.length > 0) break;
    }

    if (spec.leakScan) {
      const { minAgeMs, timeoutMs } = spec.leakScan;
      const waitS = Math.max(0, (minAgeMs - (performance.now() - testEnded)) / 1000).toFixed(1);
      const scan = await stage('leak-scan', () =>
        conn.exec(
          [
            `[ -w ${KMEMLEAK_FILE} ] || exit 0`,
            mark('leak-scan', spec.id, 'begin'),
            `until=$(awk '{ print $1 + ${waitS} }' /proc/uptime)`,
            // Two scans: an object is reported only once its contents held still across a scan.
            // The first one runs while the youngest objects age (a scan takes seconds under TCG).
            `echo scan > ${KMEMLEAK_FILE}`,
            `while awk -v t="$until" '{ exit !($1 < t) }' /proc/uptime; do sleep 0.2; done`,
            `echo scan > ${KMEMLEAK_FILE}`,
            // Bounded: a module leaking on every call can leave millions of objects.
            `head -c ${KMEMLEAK_MAX_BYTES} ${KMEMLEAK_FILE}`,
            mark('leak-scan', spec.id, 'end'),
          ].join('; '),
          { timeoutMs: timeoutMs + Number(waitS) * 1000, stage: 'leak-scan' },
        ),
      );
      if (scan) raw.kmemleak = scan.stdout;
    }
    return raw;
  } catch (error) {
    // The connection is gone: the guest panicked or QEMU died. The console log still has it.
    if (conn.isOpen()) throw error;
    raw.guestLost = true;
    return raw;
  } finally {
    if (!raw.guestLost) {
      const dmesg = await conn.exec('dmesg -r', { timeoutMs: 10_000, stage: 'dmesg' }).catch(() => undefined);
      if (dmesg && dmesg.exitCode === 0) raw.dmesg = dmesg.stdout;
      else raw.guestLost = true;
    }
  }
}
