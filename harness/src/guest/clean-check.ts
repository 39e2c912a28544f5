// Whether a guest is as it was right after boot, for a VM that runs one job after another: what
// an earlier job can leave behind is read in one command (taint, loaded modules, processes
// started from the jobs' directories) and compared with the same reading taken after boot.
// A job on a guest that is not clean would collide ("File exists"), or be judged against what
// the earlier job did (its taint, its stuck reader).
import { GUEST_DIR, parseTaint, shq } from './job.js';
import { newTaint, taintMeanings } from '../verdict/taint.js';

/** What a job can leave behind in a guest. */
export interface GuestState {
  /** /proc/sys/kernel/tainted; undefined when it could not be read. */
  taint: number | undefined;
  /** /proc/modules: each module's name and state (Live, Loading, Unloading). */
  modules: Array<{ name: string; state: string }>;
  /** Processes whose working directory or executable is under the jobs' directory. */
  processes: Array<{ pid: number; path: string; comm: string }>;
  /** The command ran to its end (a guest that died mid-way leaves this false). */
  complete: boolean;
}

/** The reading right after boot that later ones are compared with (SessionInfo holds it). */
export interface GuestBaseline {
  baseModules: readonly string[];
  baseTaint: number;
}

export type CleanVerdict = { clean: true } | { clean: false; why: string };

const TAG = 'kmod-harness-state';

/**
 * Shell that prints the guest's state as tagged lines. Builtins where it can (it runs before
 * every job, and a fork costs milliseconds under TCG): one ls for every process's cwd and exe
 * links, and a read of /proc/PID/comm only for the processes it finds.
 */
export function guestStateCommand(jobsDir = GUEST_DIR): string {
  const prefix = `${jobsDir.replace(/\/+$/, '')}/`;
  return [
    // cat, not read: a sysctl file answers only the first read, and ash's read takes a byte at a time.
    `echo "${TAG} taint $(cat /proc/sys/kernel/tainted)"`,
    `while read -r m _ _ _ st _; do echo "${TAG} module $m $st"; done < /proc/modules`,
    // Both links of a process may match: parseGuestState keeps one entry per pid.
    `ls -l /proc/[0-9]*/cwd /proc/[0-9]*/exe 2>/dev/null | grep -F -- ${shq(` -> ${prefix}`)} | while read -r line; do p=\${line#* /proc/}; p=\${p%%/*}; c=; read -r c 2>/dev/null < /proc/$p/comm; echo "${TAG} proc $p \${line##* -> } $c"; done`,
    `echo "${TAG} end"`,
  ].join('\n');
}

/** The guest state from guestStateCommand's output; lines without the tag are ignored. */
export function parseGuestState(stdout: string): GuestState {
  const state: GuestState = { taint: undefined, modules: [], processes: [], complete: false };
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== TAG) continue;
    const [, what, a, b, ...rest] = words;
    if (what === 'taint') state.taint = parseTaint(a);
    else if (what === 'module' && a) state.modules.push({ name: a, state: b ?? '' });
    else if (what === 'proc' && a && b && /^\d+$/.test(a) && !state.processes.some((p) => p.pid === Number(a)))
      state.processes.push({ pid: Number(a), path: b, comm: rest.join(' ') });
    else if (what === 'end') state.complete = true;
  }
  return state;
}

/** Each thing that differs from the baseline, as a reason; empty when the guest is clean. */
export function uncleanReasons(state: GuestState, base: GuestBaseline): string[] {
  if (!state.complete || state.taint === undefined) return ['the guest did not answer the clean check to its end'];
  const why: string[] = [];
  const booted = new Set(base.baseModules);
  for (const m of state.modules) {
    if (!booted.has(m.name)) why.push(`module ${m.name} was still loaded${m.state && m.state !== 'Live' ? ` (${m.state})` : ''}`);
  }
  for (const p of state.processes) why.push(`process ${p.pid}${p.comm ? ` (${p.comm})` : ''} of an earlier test was still running (${p.path})`);
  // O and E come with the first out-of-tree module a job loads, N with its first KUnit suite: expected, as in the verdict.
  const taint = newTaint(base.baseTaint, state.taint);
  if (taint.letters !== '') why.push(`taint ${taint.letters} (${taintMeanings(taint.letters).join('; ')}) was set since boot`);
  return why;
}

export function cleanVerdict(state: GuestState, base: GuestBaseline): CleanVerdict {
  const why = uncleanReasons(state, base);
  return why.length === 0 ? { clean: true } : { clean: false, why: why.join('; ') };
}
