// What a module can register and forget to unregister, compared before insmod and after the
// settle that follows rmmod: a /proc entry, a class device, a driver, a /dev node, a debugfs
// file, a chrdev region or misc minor still there after the module left dangles, and crashes
// the next reader or the next load. Each one new since before the load is a kernel error of
// kind `leftover` at stage `after-unload`.
import type { KernelError } from './detect.js';

/** The places listed, one entry per line: paths, or `/proc/devices: <line>` style rows. */
export const LEFTOVER_PLACES = ['/proc', '/proc/sys', '/sys/class', '/sys/bus/*/drivers', '/dev', '/sys/kernel/debug', '/proc/devices', '/proc/misc'] as const;

/**
 * Shell (busybox) that prints every entry of LEFTOVER_PLACES, one per line. Process dirs,
 * /proc/self and the SSH session's ptys come and go on their own, so they are left out.
 */
export function snapshotCommand(): string {
  return [
    `find /proc -maxdepth 2 \\( -path '/proc/[0-9]*' -o -path /proc/self -o -path /proc/thread-self -o -path /proc/sys -o -path /proc/kmsg -o -path /proc/kcore \\) -prune -o -print`,
    'find /proc/sys -maxdepth 3',
    'ls -d /sys/class/*/* /sys/bus/*/drivers/* /sys/kernel/debug/* 2>/dev/null',
    'find /dev -maxdepth 2 -path /dev/pts -prune -o -print',
    `sed 's|^|/proc/devices: |' /proc/devices`,
    `sed 's|^|/proc/misc: |' /proc/misc`,
  ].join('; ');
}

/** Entries in `after` that were not in `before`, in `after`'s order. */
export function newEntries(before: readonly string[], after: readonly string[]): string[] {
  const seen = new Set(before);
  const fresh = after.filter((e) => e !== '' && !seen.has(e) && !/^\/proc\/devices: (?:Character|Block) devices:$/.test(e));
  return [...new Set(fresh)];
}

/** Leftovers listed one by one; more are summed up in one last error. */
export const MAX_LEFTOVERS = 20;

/** One kernel error per leftover entry, blamed on the module when the job loaded only one. */
export function leftoverErrors(entries: readonly string[], modules: readonly string[]): Array<KernelError & { stage: string }> {
  const module = modules.length === 1 ? modules[0] : undefined;
  const who = modules.length === 0 ? '' : ` of ${modules.join(', ')}`;
  const listed = entries.slice(0, MAX_LEFTOVERS);
  const errors = listed.map((entry) => ({
    kind: 'leftover',
    title: `left behind after rmmod${who}: ${entry}`,
    trace: [],
    recordIndex: -1,
    stage: 'after-unload',
    ...(module ? { module } : {}),
  }));
  const rest = entries.length - listed.length;
  if (rest > 0)
    errors.push({
      kind: 'leftover',
      title: `left behind after rmmod${who}: ${rest} more entries`,
      trace: [],
      recordIndex: -1,
      stage: 'after-unload',
      ...(module ? { module } : {}),
    });
  return errors;
}
