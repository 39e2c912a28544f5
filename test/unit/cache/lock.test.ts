// The cross-process cache lock, with real processes: `node -e` children load cache/lock.ts
// through jiti (as the harness loads a config) and hold the lock as another run would.
import { execa, type ResultPromise } from 'execa';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, lockHolder, LockTimeoutError, tryLock, withLock } from '../../../harness/src/cache/lock.js';
import { TimeoutError } from '../../../harness/src/errors.js';
import type { HarnessEvent } from '../../../harness/src/events.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const LOCK_MODULE = path.join(REPO, 'harness/src/cache/lock.ts');

let dir: string;
let lockFile: string;
const children: ResultPromise[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmh-cache-lock-'));
  lockFile = path.join(dir, 'kernels', '.lock-6.1_6.1.170-1');
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    await child.catch(() => {});
  }
  await rm(dir, { recursive: true, force: true });
});

/**
 * A child process that takes the lock with acquireLock, prints 'locked', appends `in <tag>` and
 * (after `holdMs`) `out <tag>` to `log`, and releases; holdMs < 0 holds until it is killed.
 */
function holder(tag: string, log: string, holdMs: number): { child: ResultPromise; locked: Promise<void> } {
  const script = `
    const m = await import(${JSON.stringify(LOCK_MODULE)});
    const { acquireLock } = m.default ?? m;
    const { appendFile } = await import('node:fs/promises');
    const lock = await acquireLock(${JSON.stringify(lockFile)}, { what: 'the test entry', waitMs: 20000 });
    await appendFile(${JSON.stringify(log)}, 'in ${tag}\\n');
    console.log('locked');
    if (${holdMs} < 0) await new Promise(() => setInterval(() => {}, 1000));
    await new Promise((r) => setTimeout(r, ${holdMs}));
    await appendFile(${JSON.stringify(log)}, 'out ${tag}\\n');
    await lock.release();
  `;
  const child = execa('node', ['--import', 'jiti/register', '--input-type=module', '-e', script], { cwd: REPO, all: true });
  children.push(child);
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    child.then(
      () => reject(new Error(`holder ${tag} ended before it locked`)),
      (error: unknown) => reject(error),
    );
  });
  return { child, locked };
}

/** The log as a sequence of in/out pairs; throws if two holders were ever inside at once. */
function pairs(text: string): string[] {
  const lines = text.trim().split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const [inside, outside] = [lines[i]!, lines[i + 1]];
    expect(inside).toMatch(/^in /);
    expect(outside).toBe(inside.replace(/^in /, 'out '));
    out.push(inside.slice(3));
  }
  return out;
}

describe('acquireLock across processes', () => {
  it('serialises two holders in two processes: one is inside at a time, both get in', async () => {
    const log = path.join(dir, 'log');
    const a = holder('a', log, 800);
    const b = holder('b', log, 800);
    await Promise.all([a.child, b.child]);
    expect(pairs(await readFile(log, 'utf8')).sort()).toEqual(['a', 'b']);
  }, 30_000);

  it('is not blocked by a holder that was SIGKILLed, and names a live holder while it lives', async () => {
    const log = path.join(dir, 'log');
    const { child, locked } = holder('killed', log, -1);
    await locked;
    expect(await tryLock(lockFile)).toBe('busy');
    expect(await lockHolder(lockFile)).toBe(child.pid);
    child.kill('SIGKILL');
    await child.catch(() => {});
    // Its pid is still written in the file, but that process is gone.
    expect(await lockHolder(lockFile)).toBeUndefined();
    const start = performance.now();
    const lock = await acquireLock(lockFile, { what: 'the test entry', waitMs: 10_000 });
    expect(performance.now() - start).toBeLessThan(2_000);
    expect(await lockHolder(lockFile)).toBe(process.pid);
    await lock.release();
  }, 30_000);

  it('gives up after waitMs with a LockTimeoutError naming the lock file, the holder and the fix, having said whom it waits for', async () => {
    const { child, locked } = holder('slow', path.join(dir, 'log'), -1);
    await locked;
    const events: HarnessEvent[] = [];
    const error = await acquireLock(lockFile, { what: 'the 6.1 kernel 6.1.170-1', waitMs: 600, noticeMs: 100, emit: (e) => events.push(e) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    const e = error as LockTimeoutError;
    expect(e.lockFile).toBe(lockFile);
    expect(e.holderPid).toBe(child.pid);
    expect(e.message).toBe(`waiting for the 6.1 kernel 6.1.170-1 (lock ${lockFile}, held by pid ${child.pid}) did not finish within 1 s`);
    expect(e.fix).toMatch(new RegExp(`pid ${child.pid} is another kmod-harness run.*KMOD_HARNESS_CACHE`));
    expect(events).toEqual([{ type: 'info', message: `waiting for the 6.1 kernel 6.1.170-1 (held by pid ${child.pid})` }]);
  }, 30_000);
});

describe('acquireLock in one process', () => {
  it('serialises concurrent holders like separate processes', async () => {
    const log = path.join(dir, 'log');
    const enter = async (tag: string): Promise<void> =>
      withLock(lockFile, { what: 'x' }, async () => {
        await appendFile(log, `in ${tag}\n`);
        await sleep(150);
        await appendFile(log, `out ${tag}\n`);
      });
    await Promise.all(['a', 'b', 'c'].map(enter));
    expect(pairs(await readFile(log, 'utf8')).sort()).toEqual(['a', 'b', 'c']);
  });

  it('lets shared holders in together, and an exclusive one only after them', async () => {
    const order: string[] = [];
    const one = await acquireLock(lockFile, { what: 'x', shared: true });
    const two = await acquireLock(lockFile, { what: 'x', shared: true });
    const exclusive = acquireLock(lockFile, { what: 'x' }).then((lock) => {
      order.push('exclusive');
      return lock;
    });
    await sleep(300);
    order.push('readers done');
    await one.release();
    await two.release();
    await (await exclusive).release();
    expect(order).toEqual(['readers done', 'exclusive']);
  });

  it('releases on a throw, and stops waiting when its signal aborts', async () => {
    await expect(withLock(lockFile, { what: 'x' }, async () => Promise.reject(new Error('fill failed')))).rejects.toThrow('fill failed');
    const held = await acquireLock(lockFile, { what: 'x' });
    const controller = new AbortController();
    const waiting = acquireLock(lockFile, { what: 'x', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('Ctrl-C')), 200);
    await expect(waiting).rejects.toThrow('Ctrl-C');
    await held.release();
    await (await acquireLock(lockFile, { what: 'x', waitMs: 1000 })).release();
  });

  it('tryLock: absent without creating the file, busy while held, else held', async () => {
    expect(await tryLock(lockFile)).toBe('absent');
    await expect(stat(lockFile)).rejects.toThrow(/ENOENT/);
    const lock = await acquireLock(lockFile, { what: 'x' });
    expect(await tryLock(lockFile)).toBe('busy');
    await lock.release();
    const again = await tryLock(lockFile);
    expect(again).not.toBe('busy');
    expect(again).not.toBe('absent');
    await (again as Exclude<typeof again, string>).release();
  });
});
