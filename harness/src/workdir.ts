// A per-run scratch directory (mode 0700: it holds the run's private SSH key), removed by
// the run's teardown whatever way the run ends, unless the user asked to keep it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTeardown } from './lifecycle.js';

export interface WorkDir {
  path: string;
  /** Remove it now (idempotent). */
  remove(): Promise<void>;
}

export async function makeWorkDir(prefix = 'kmod-harness-'): Promise<WorkDir> {
  // mkdtemp creates the directory with mode 0700.
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const remove = onTeardown(() => rm(dir, { recursive: true, force: true }));
  return { path: dir, remove };
}
