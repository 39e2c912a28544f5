import { describe, expect, it } from 'vitest';
import { MAX_LEFTOVERS, leftoverErrors, newEntries, snapshotCommand } from '../../../harness/src/verdict/leftovers.js';

describe('newEntries', () => {
  it('lists what is there after and was not before, once each, in the order listed after', () => {
    const before = ['/proc/cpuinfo', '/dev/null', '/proc/devices: 1 mem'];
    const after = ['/proc/cpuinfo', '/proc/kmh_leftover', '/dev/null', '/dev/kmh0', '/proc/devices: 1 mem', '/proc/devices: 240 kmh_chr', '/dev/kmh0'];
    expect(newEntries(before, after)).toEqual(['/proc/kmh_leftover', '/dev/kmh0', '/proc/devices: 240 kmh_chr']);
  });

  it('does not count what went away, blank lines or the section headings of /proc/devices', () => {
    expect(newEntries(['/proc/a', '/proc/b'], ['/proc/a', '', '/proc/devices: Character devices:', '/proc/devices: Block devices:'])).toEqual([]);
  });
});

describe('leftoverErrors', () => {
  it('is one leftover error per entry at after-unload, blamed on the lone module', () => {
    expect(leftoverErrors(['/proc/kmh_leftover'], ['kmh_leftover'])).toEqual([
      {
        kind: 'leftover',
        title: 'left behind after rmmod of kmh_leftover: /proc/kmh_leftover',
        trace: [],
        recordIndex: -1,
        stage: 'after-unload',
        module: 'kmh_leftover',
      },
    ]);
  });

  it('blames no single module when the job loaded several', () => {
    const [e] = leftoverErrors(['/dev/x'], ['a', 'b']);
    expect(e!.module).toBeUndefined();
    expect(e!.title).toBe('left behind after rmmod of a, b: /dev/x');
  });

  it('lists at most MAX_LEFTOVERS entries and counts the rest in one more', () => {
    const entries = Array.from({ length: MAX_LEFTOVERS + 5 }, (_, i) => `/sys/class/kmh/dev${i}`);
    const errors = leftoverErrors(entries, ['kmh']);
    expect(errors).toHaveLength(MAX_LEFTOVERS + 1);
    expect(errors.at(-1)!.title).toBe('left behind after rmmod of kmh: 5 more entries');
  });

  it('is nothing when nothing is left', () => {
    expect(leftoverErrors([], ['kmh'])).toEqual([]);
  });
});

describe('snapshotCommand', () => {
  it('lists every place a module registers, and leaves out process dirs and the session ptys', () => {
    const cmd = snapshotCommand();
    for (const place of ['/proc ', '/proc/sys', '/sys/class/*/*', '/sys/bus/*/drivers/*', '/sys/kernel/debug/*', '/dev ', '/proc/devices', '/proc/misc'])
      expect(cmd).toContain(place);
    expect(cmd).toContain(`-path '/proc/[0-9]*'`);
    expect(cmd).toContain('-path /dev/pts -prune');
  });
});
