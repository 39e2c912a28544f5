import { afterEach, describe, expect, it } from 'vitest';
import { onTeardown, runAllTeardowns } from '../../harness/src/lifecycle.js';

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
