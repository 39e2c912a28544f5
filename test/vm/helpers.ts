// Running a module + test on the VM that globalSetup booted for a kernel.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildJob, connectSession, consoleReader, runBuilt, type JobOutcome, type SessionInfo } from '../../harness/src/session.js';

let jobs = 0;

export async function runOnSession(info: SessionInfo, source: { moduleDir: string; test: string }, options: { testS?: number } = {}): Promise<JobOutcome> {
  const buildDir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-vmtest-'));
  try {
    const built = await buildJob(info.headersDir, source, buildDir);
    const conn = await connectSession(info);
    try {
      const id = `${process.pid}-${++jobs}`;
      return await runBuilt(conn, consoleReader(info), built, id, { ...(options.testS ? { timeouts: { testS: options.testS } } : {}) });
    } finally {
      conn.close();
    }
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
}

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/modules');
