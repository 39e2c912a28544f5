import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { program } from '../../../harness/src/program.js';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { buildTest } from '../../../harness/src/build/userland.js';
import { TimeoutError } from '../../../harness/src/errors.js';
import { MAX_DELAY_MS, MAX_TIMEOUT_S, safeDelayMs, timeoutProblem, withDeadline } from '../../../harness/src/util/timers.js';

describe('safeDelayMs', () => {
  it('passes a delay setTimeout honours, clamps a longer one to the cap', () => {
    expect(safeDelayMs(1500)).toBe(1500);
    expect(safeDelayMs(MAX_DELAY_MS)).toBe(MAX_DELAY_MS);
    expect(safeDelayMs(MAX_DELAY_MS + 1)).toBe(MAX_DELAY_MS);
    expect(safeDelayMs(Number.POSITIVE_INFINITY)).toBe(MAX_DELAY_MS);
    expect(safeDelayMs(-5)).toBe(0);
    expect(safeDelayMs(Number.NaN)).toBe(0);
  });

  it('keeps a timer of a huge user value from firing at once', async () => {
    // Unclamped, Node runs this callback on the next turn (TimeoutOverflowWarning).
    let fired = false;
    const timer = setTimeout(() => (fired = true), safeDelayMs(3_000_000 * 1000));
    await new Promise((r) => setTimeout(r, 30));
    clearTimeout(timer);
    expect(fired).toBe(false);
  });
});

describe('timeoutProblem', () => {
  it('accepts positive seconds up to the cap, and names what is wrong otherwise', () => {
    expect(MAX_TIMEOUT_S).toBe(2_147_483);
    expect(timeoutProblem(0.5)).toBeUndefined();
    expect(timeoutProblem(MAX_TIMEOUT_S)).toBeUndefined();
    expect(timeoutProblem(MAX_TIMEOUT_S + 1)).toMatch(/^at most 2147483 seconds/);
    expect(timeoutProblem(0)).toBe('expected a positive number of seconds');
    expect(timeoutProblem(Number.NaN)).toBe('expected a positive number of seconds');
  });
});

describe('the timeout flags', () => {
  /** The run command, parsing `args` without running (an action is never reached on a bad flag). */
  const parseRun = (args: string[]): { error?: string; opts: Record<string, unknown> } => {
    const run = program().commands.find((c: Command) => c.name() === 'run')!;
    let error: string | undefined;
    run.exitOverride().configureOutput({ writeErr: (s) => (error = s.trim()), writeOut: () => {} });
    run.action(() => {});
    try {
      run.parse(args, { from: 'user' });
    } catch {
      // commander's exit, with the message in `error`
    }
    return { ...(error !== undefined ? { error } : {}), opts: run.opts() };
  };

  it('refuses a time limit above the cap', () => {
    for (const flag of ['--boot-timeout', '--load-timeout', '--test-timeout', '--unload-timeout']) {
      expect(parseRun([flag, '3000000']).error).toMatch(new RegExp(`${flag} <seconds>' argument '3000000' is invalid\\. at most 2147483 seconds`));
    }
  });

  it('takes one within it', () => {
    const { error, opts } = parseRun(['--test-timeout', '2147483']);
    expect(error).toBeUndefined();
    expect(opts.testTimeout).toBe(2_147_483);
  });
});

describe('withDeadline', () => {
  it('passes the value of a stage that ends in time', async () => {
    await expect(withDeadline('build', 5, async () => 42)).resolves.toBe(42);
  });

  it("ends a real build that never does: TimeoutError naming the stage, make's whole process group killed", async () => {
    const buildDir = await mkdtemp(path.join(tmpdir(), 'kmh-deadline-'));
    try {
      const started = performance.now();
      const error = await withDeadline(
        'test-build',
        1.5,
        (signal) => buildTest({ source: path.resolve('test/fixtures/modules/endless-build/test'), buildDir, signal }),
        { fix: 'raise timeouts.testBuild' },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).stage).toBe('test-build');
      expect((error as TimeoutError).message).toBe('test-build did not finish within 1.5 s');
      expect((error as TimeoutError).fix).toBe('raise timeouts.testBuild');
      expect(performance.now() - started).toBeLessThan(5000);
      // make ran `sleep 2147483647` itself, in its copy under buildDir: it must be gone with make.
      // (Another run's endless build on this machine has another cwd: not ours to judge.)
      await new Promise((r) => setTimeout(r, 200));
      const sleeping = (await execa('pgrep', ['-f', 'sleep 2147483647'], { reject: false })).stdout.split('\n').filter(Boolean);
      const cwds = await Promise.all(sleeping.map((pid) => readlink(`/proc/${pid}/cwd`).catch(() => '')));
      expect(cwds.filter((cwd) => cwd.startsWith(buildDir))).toEqual([]);
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
  });

  it("is cancelled by its parent with the parent's reason", async () => {
    const parent = new AbortController();
    const running = withDeadline('build', 60, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), {
      parent: parent.signal,
    });
    parent.abort(new Error('the other build failed'));
    await expect(running).rejects.toThrow('the other build failed');
  });
});

describe('withDeadline on work that ignores its signal', () => {
  it('rejects at the deadline all the same', async () => {
    const started = performance.now();
    const error = await withDeadline('upload', 0.2, () => new Promise(() => {})).catch((e: unknown) => e);
    expect((error as TimeoutError).stage).toBe('upload');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
