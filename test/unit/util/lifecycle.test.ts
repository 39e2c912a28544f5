import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onTeardown, runAllTeardowns } from '../../../harness/src/util/lifecycle.js';
import { PACKAGE_ROOT } from '../../../harness/src/util/paths.js';

// The registry is module state: leave it empty for the next test.
afterEach(() => runAllTeardowns());

describe('runAllTeardowns', () => {
  it('runs teardowns in reverse order of registration, awaiting each', async () => {
    const log: string[] = [];
    onTeardown(() => void log.push('workdir'));
    onTeardown(async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.push('qemu');
    });
    onTeardown(() => void log.push('ssh'));
    await runAllTeardowns();
    expect(log).toEqual(['ssh', 'qemu', 'workdir']);
  });

  it('runs each teardown once, however often it is asked', async () => {
    let runs = 0;
    onTeardown(() => void runs++);
    await runAllTeardowns();
    await runAllTeardowns();
    expect(runs).toBe(1);
  });

  it('keeps going past a teardown that throws or rejects', async () => {
    const log: string[] = [];
    onTeardown(() => void log.push('first'));
    onTeardown(() => {
      throw new Error('sync');
    });
    onTeardown(() => Promise.reject(new Error('async')));
    onTeardown(() => void log.push('last'));
    await expect(runAllTeardowns()).resolves.toBeUndefined();
    expect(log).toEqual(['last', 'first']);
  });
});

describe('onTeardown', () => {
  it('returns a function that runs the teardown now and unregisters it', async () => {
    const log: string[] = [];
    const remove = onTeardown(() => void log.push('a'));
    onTeardown(() => void log.push('b'));
    await remove();
    expect(log).toEqual(['a']);
    await remove();
    await runAllTeardowns();
    expect(log).toEqual(['a', 'b']);
  });

  it('does nothing when called after runAllTeardowns already ran it', async () => {
    let runs = 0;
    const remove = onTeardown(() => void runs++);
    await runAllTeardowns();
    await remove();
    expect(runs).toBe(1);
  });

  it('passes the error of a teardown run directly on to its caller', async () => {
    const remove = onTeardown(() => Promise.reject(new Error('rm failed')));
    await expect(remove()).rejects.toThrow('rm failed');
    // And it is gone from the registry all the same.
    await expect(remove()).resolves.toBeUndefined();
  });
});

// A real process (test/support/lifecycle-child.ts) with the handlers installed, a build-like
// process group and a QEMU-like child: what is left after signals and crashes.
const FIXTURE = path.join(PACKAGE_ROOT, 'test/support/lifecycle-child.ts');
const JITI = path.join(PACKAGE_ROOT, 'node_modules/jiti/lib/jiti-cli.mjs');

/** Running, and not a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pids: number[], withinMs = 3000): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if (pids.every((p) => !alive(p))) return true;
  }
  return false;
}

// Each start compiles the fixture with jiti: ~1-2 s on a loaded 2-core host.
describe('a CLI process with the handlers installed', { timeout: 30_000 }, () => {
  let dir: string;
  const started: number[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-lifecycle-'));
  });
  afterEach(async () => {
    for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  async function start(mode: string, limitMs = 10_000) {
    const marker = path.join(dir, 'torn-down');
    const child = execa('node', [JITI, FIXTURE, mode, String(limitMs), marker], { reject: false, all: true, stdin: 'ignore' });
    const ready = await new Promise<{ pids: number[]; workDir: string }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /^ready (.*)$/m.exec(out);
        if (m) resolve(JSON.parse(m[1]!) as { pids: number[]; workDir: string });
      });
      void child.then((r) => reject(new Error(`exited before ready: ${r.all}`)));
    });
    started.push(...ready.pids);
    expect(ready.pids.every(alive)).toBe(true);
    return { child, ...ready, tornDown: () => existsSync(marker) };
  }

  it('one Ctrl-C: the teardowns run, exit 130', async () => {
    const run = await start('wait');
    run.child.kill('SIGINT');
    const result = await run.child;
    expect(result.exitCode, result.all).toBe(130);
    expect(result.all).toContain('SIGINT, stopping VMs and removing temporary files');
    expect(run.tornDown()).toBe(true);
    expect(await gone(run.pids)).toBe(true);
    expect(existsSync(run.workDir)).toBe(false);
  });

  it('a second Ctrl-C while a teardown hangs: everything SIGKILLed, temp dirs swept, exit 130 at once', async () => {
    const run = await start('hang');
    run.child.kill('SIGINT');
    // Stuck in the hanging teardown: still there.
    await new Promise((r) => setTimeout(r, 300));
    expect(run.child.exitCode).toBeNull();
    const second = Date.now();
    run.child.kill('SIGINT');
    const result = await run.child;
    expect(Date.now() - second).toBeLessThan(1500);
    expect(result.exitCode, result.all).toBe(130);
    expect(result.all.match(/SIGINT again: killed VMs and builds/g)).toHaveLength(1);
    // Nothing after the hanging teardown ran: the hard kills did it.
    expect(run.tornDown()).toBe(false);
    expect(await gone(run.pids)).toBe(true);
    expect(existsSync(run.workDir)).toBe(false);
  });

  it('SIGTERM, then SIGINT while a teardown hangs: the code of the second signal', async () => {
    const run = await start('hang');
    run.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGINT');
    const result = await run.child;
    expect(result.exitCode, result.all).toBe(130);
    expect(await gone(run.pids)).toBe(true);
  });

  it.each([
    ['an uncaught exception', 'crash', /internal error \(uncaught exception\), a bug in kmod-harness: Error: boom from a timer/],
    ['an unhandled rejection', 'reject', /internal error \(unhandled rejection\), a bug in kmod-harness: Error: rejected and never caught/],
  ])('%s: printed, the teardowns run, exit 70', async (_what, mode, said) => {
    const run = await start(mode);
    const result = await run.child;
    expect(result.exitCode, result.all).toBe(70);
    expect(result.all).toMatch(said);
    expect(run.tornDown()).toBe(true);
    expect(await gone(run.pids)).toBe(true);
    expect(existsSync(run.workDir)).toBe(false);
  });

  it('a crash whose teardown hangs: hard kills after the time limit, exit 70', async () => {
    const run = await start('crash-hang', 500);
    const result = await run.child;
    expect(result.exitCode, result.all).toBe(70);
    expect(result.all).toContain('the cleanup took over 0.5 s: killed VMs and builds');
    expect(run.tornDown()).toBe(false);
    expect(await gone(run.pids)).toBe(true);
    expect(existsSync(run.workDir)).toBe(false);
  });
});
