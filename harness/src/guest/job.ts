// One module-under-test cycle inside a booted guest: upload, insmod, run the test, rmmod,
// read the kernel log. Each stage is fenced by marker lines in /dev/kmsg so the verdict can
// attribute kernel errors to the stage that caused them.
import path from 'node:path';
import { TimeoutError } from '../errors.js';
import { stageMarker } from '../verdict/index.js';
import type { ModuleSection } from '../verdict/leaks.js';
import type { ExecResult, GuestConnection } from './ssh.js';

export interface JobSpec {
  /** Unique within one VM, so markers of several jobs do not mix. */
  id: string;
  kos: string[];
  names: string[];
  testBinary: string;
  testArgs?: string[];
  timeouts: { loadMs: number; testMs: number; unloadMs: number };
  /**
   * On a kmemleak kernel: after rmmod, scan for leaks. kmemleak never reports an object younger
   * than `minAgeMs` (5 s in the kernel), so the scan waits until the test ended that long ago.
   */
  leakScan?: { minAgeMs: number; timeoutMs: number };
}

export type { ModuleSection } from '../verdict/leaks.js';

export interface JobRaw {
  /** /proc/sys/kernel/tainted before loading and after each stage that ran. */
  taint: Partial<Record<TaintPoint, number>>;
  load: ExecResult;
  test: ExecResult | undefined;
  unload: ExecResult | undefined;
  /** Names still listed in /proc/modules after rmmod. */
  stillLoaded: string[];
  /** The text sections of each module, as loaded (for leak reports printed after rmmod). */
  sections: ModuleSection[];
  /** /sys/kernel/debug/kmemleak after the post-unload scans; undefined when not scanned. */
  kmemleak: string | undefined;
  /** `dmesg -r` after the job; undefined when the guest could no longer answer. */
  dmesg: string | undefined;
  timedOutStage: string | undefined;
  /** The connection dropped (guest panicked or powered off) during the job. */
  guestLost: boolean;
  stageMs: Record<string, number>;
}

export const GUEST_DIR = '/tmp/kmod-harness';

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

export type TaintPoint = 'before' | 'load' | 'test' | 'unload';

const TAINT_TAG = 'kmod-harness-taint';
const STILL_LOADED_TAG = 'kmod-harness-still-loaded';
const SECTION_TAG = 'kmod-harness-section';
export const KMEMLEAK_FILE = '/sys/kernel/debug/kmemleak';
/** The most of kmemleak's report read back: ~1500 objects. */
export const KMEMLEAK_MAX_BYTES = 1_048_576;

/** Shell that prints the taint mask as one tagged line. */
function readTaint(point: TaintPoint): string {
  return `echo "${TAINT_TAG} ${point} $(cat /proc/sys/kernel/tainted)"`;
}

/** Pull the harness's tagged lines out of a command's stdout; the rest is the command's own. */
export function untag(stdout: string, raw: Pick<JobRaw, 'taint' | 'stillLoaded' | 'sections'>): string {
  const own: string[] = [];
  for (const line of stdout.split('\n')) {
    const [tag, a, b, c] = line.split(' ');
    if (tag === TAINT_TAG && a) raw.taint[a as TaintPoint] = parseTaint(b);
    else if (tag === STILL_LOADED_TAG && a) raw.stillLoaded.push(a);
    else if (tag === SECTION_TAG && a && b && c && /^0x[0-9a-f]+$/.test(c)) raw.sections.push({ module: a, section: b, address: BigInt(c) });
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

export async function runJob(conn: GuestConnection, spec: JobSpec): Promise<JobRaw> {
  const stageMs: Record<string, number> = {};
  const raw: JobRaw = {
    taint: {},
    load: { exitCode: null, signal: null, stdout: '', stderr: '' },
    test: undefined,
    unload: undefined,
    stillLoaded: [],
    sections: [],
    kmemleak: undefined,
    dmesg: undefined,
    timedOutStage: undefined,
    guestLost: false,
    stageMs,
  };
  const dir = `${GUEST_DIR}/${spec.id}`;
  const { kos: remoteKos, test: remoteTest } = guestPaths(dir, spec.kos);

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
      stageMs[name] = Math.round(performance.now() - start);
    }
  };

  try {
    await stage('upload', async () => {
      await uploadBuilt(conn, dir, spec.kos, spec.testBinary);
    });

    const load = await stage('load', () =>
      conn.exec(
        [
          readTaint('before'),
          // Leaks an earlier job in this VM already reported are not this job's: kmemleak lists
          // every reported object until cleared, and a module loaded where another was may
          // hand out the same addresses.
          ...(spec.leakScan ? [`[ -w ${KMEMLEAK_FILE} ] && echo clear > ${KMEMLEAK_FILE}`] : []),
          mark('load', spec.id, 'begin'),
          insmodAll(remoteKos),
          mark('load', spec.id, 'end'),
          readTaint('load'),
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
      conn.exec(`cd ${shq(dir)} && exec ${[remoteTest, ...(spec.testArgs ?? [])].map(shq).join(' ')}`, { timeoutMs: spec.timeouts.testMs, stage: 'test' }),
    );
    if (!raw.test) return raw;

    const unload = await stage('unload', () =>
      conn.exec(
        [
          mark('test', spec.id, 'end'),
          readTaint('test'),
          // Module text addresses as loaded (root reads them unhashed), before rmmod frees them.
          `for m in ${spec.names.map(shq).join(' ')}; do for s in /sys/module/$m/sections/.*text*; do [ -r "$s" ] && echo "${SECTION_TAG} $m \${s##*/} $(cat "$s")"; done; done`,
          mark('unload', spec.id, 'begin'),
          `rc=0; for m in ${[...spec.names].reverse().map(shq).join(' ')}; do rmmod "$m" || rc=$?; done`,
          mark('unload', spec.id, 'end'),
          readTaint('unload'),
          `for m in ${spec.names.map(shq).join(' ')}; do grep -q "^$m " /proc/modules && echo "${STILL_LOADED_TAG} $m"; done`,
          'exit $rc',
        ].join('; '),
        { timeoutMs: spec.timeouts.unloadMs, stage: 'unload' },
      ),
    );
    if (!unload) return raw;
    raw.unload = { ...unload, stdout: untag(unload.stdout, raw) };
    const testEnded = performance.now() - (stageMs.unload ?? 0);
    if (spec.leakScan && raw.unload.exitCode === 0) {
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
