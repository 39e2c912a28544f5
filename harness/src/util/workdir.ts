// A per-run scratch directory (mode 0700: it holds the run's private SSH key), removed by
// the run's teardown whatever way the run ends, unless the user asked to keep it.
import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onSignalExit, onTeardown } from './lifecycle.js';

export interface WorkDir {
  path: string;
  /** Remove it now (idempotent). */
  remove(): Promise<void>;
}

/** This process's part of a work dir's name: what the sweep on a signal may remove. */
const OWN = `${process.pid}-`;

/**
 * A mkdtemp that a signal interrupts can create its directory in the thread pool while the
 * process tears down, and never return to register the directory's teardown: on a signal,
 * remove this process's work dirs once every teardown has run.
 */
function sweepOwnWorkDirs(prefix: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(`${prefix}${OWN}`)) rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
  }
}

const swept = new Set<string>();

export async function makeWorkDir(prefix = 'kmod-harness-'): Promise<WorkDir> {
  if (!swept.has(prefix)) {
    swept.add(prefix);
    onSignalExit(() => sweepOwnWorkDirs(prefix));
  }
  // mkdtemp creates the directory with mode 0700.
  const dir = await mkdtemp(path.join(tmpdir(), `${prefix}${OWN}`));
  const remove = onTeardown(() => rm(dir, { recursive: true, force: true }));
  return { path: dir, remove };
}
