// Doctor check `disk`: free space where the cache is (or will be made), against what a few
// kernels and compiler roots take.
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { formatDecimal } from '../../util/format.js';
import { check, type DoctorCheck } from './check.js';

export interface DiskFact {
  cacheRoot: string;
  /** The nearest existing ancestor of cacheRoot, which statfs measured. */
  measured: string;
  freeBytes: number;
}

export const DISK_WARN_BYTES = 5e9;
export const DISK_FAIL_BYTES = 1.5e9;

export async function gatherDisk(root: string): Promise<DiskFact> {
  let measured = root;
  while (!(await stat(measured).catch(() => undefined)) && path.dirname(measured) !== measured) measured = path.dirname(measured);
  const s = await statfs(measured);
  return { cacheRoot: root, measured, freeBytes: s.bavail * s.bsize };
}

const gb = (bytes: number): string => formatDecimal(bytes, 'GB');

export function diagnoseDisk(fact: DiskFact): DoctorCheck {
  const where = fact.measured === fact.cacheRoot ? fact.cacheRoot : `${fact.measured} (the cache dir ${fact.cacheRoot} is not made yet)`;
  const summary = `${gb(fact.freeBytes)} free at ${where}`;
  const fix = `kmod-harness cache prune, or set KMOD_HARNESS_CACHE to a disk with more room (a kernel takes ~150 MB, a compiler root ~300 MB)`;
  if (fact.freeBytes < DISK_FAIL_BYTES) return check('disk', 'fail', `${summary}; under ${gb(DISK_FAIL_BYTES)}`, fix);
  if (fact.freeBytes < DISK_WARN_BYTES) return check('disk', 'warn', `${summary}; under ${gb(DISK_WARN_BYTES)}`, fix);
  return check('disk', 'ok', summary);
}
