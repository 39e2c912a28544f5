import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseTaint, shq, untag } from '../../../harness/src/guest/job.js';

describe('shq', () => {
  it('wraps a word in single quotes', () => {
    expect(shq('/tmp/kmod-harness/job1')).toBe(`'/tmp/kmod-harness/job1'`);
    expect(shq('')).toBe(`''`);
  });

  it('closes, escapes and reopens around an embedded single quote', () => {
    expect(shq("it's")).toBe(`'it'\\''s'`);
  });

  it('round-trips awkward words through a real shell as one argument each', async () => {
    const words = ['a b  c', "it's", `"$HOME" \`id\` $(id) \\n`, '*', "''", 'tab\there', 'new\nline', '-n'];
    const { stdout } = await execa('sh', ['-c', `for w in ${words.map(shq).join(' ')}; do printf '<%s>' "$w"; done`]);
    expect(stdout).toBe(words.map((w) => `<${w}>`).join(''));
  });
});

describe('parseTaint', () => {
  it('reads /proc/sys/kernel/tainted as a number', () => {
    expect(parseTaint('0\n')).toBe(0);
    expect(parseTaint(' 4096 \n')).toBe(4096);
    // W (512) + O (4096) + E (8192)
    expect(parseTaint('12800')).toBe(12800);
  });

  it('is undefined when there is nothing numeric to read', () => {
    expect(parseTaint(undefined)).toBeUndefined();
    expect(parseTaint('')).toBeUndefined();
    expect(parseTaint("cat: can't open '/proc/sys/kernel/tainted': No such file or directory")).toBeUndefined();
  });
});

describe('untag', () => {
  it('takes taint readings and still-loaded names out of the output, keeping the rest in order', () => {
    const raw = { taint: {}, stillLoaded: [] as string[], sections: [] as Array<{ module: string; section: string; address: bigint }> };
    const own = untag(
      [
        'kmod-harness-taint before 0',
        'insmod: out of memory',
        'kmod-harness-taint load 12288',
        'kmod-harness-still-loaded kmh_x',
        'kmod-harness-section kmh_x .text 0xffffffffc0a01000',
        'kmod-harness-section kmh_x .init.text 0x0',
        'kmod-harness-section kmh_x .bad garbage',
        'done',
      ].join('\n'),
      raw,
    );
    expect(own).toBe('insmod: out of memory\nkmod-harness-section kmh_x .bad garbage\ndone');
    expect(raw.taint).toEqual({ before: 0, load: 12288 });
    expect(raw.stillLoaded).toEqual(['kmh_x']);
    expect(raw.sections).toEqual([
      { module: 'kmh_x', section: '.text', address: 0xffffffffc0a01000n },
      { module: 'kmh_x', section: '.init.text', address: 0n },
    ]);
  });
});
