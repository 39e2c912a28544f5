import { describe, expect, it } from 'vitest';
import { stageAt, taintVerdict } from '../../../harness/src/verdict/judge.js';

const O = 1 << 12;
const E = 1 << 13;
const W = 1 << 9;
const D = 1 << 7;

describe('taintVerdict', () => {
  it('ignores the O and E bits an out-of-tree unsigned module always sets', () => {
    expect(taintVerdict({ before: 0, load: O | E, test: O | E, unload: O | E })).toBeUndefined();
  });

  it('names the first stage after which a forbidden bit appeared, and every bit seen by the end', () => {
    expect(taintVerdict({ before: 0, load: O | E, test: O | E | W, unload: O | E | W | D })).toEqual({ letters: 'DW', stage: 'test' });
    expect(taintVerdict({ before: 0, load: O | E | W })).toEqual({ letters: 'W', stage: 'load' });
  });

  it('does not blame a job for bits set before it loaded', () => {
    expect(taintVerdict({ before: W, load: W | O, test: W | O, unload: W | O })).toBeUndefined();
  });

  it('says nothing without a reading before the load', () => {
    expect(taintVerdict({ load: W })).toBeUndefined();
  });
});

describe('stageAt', () => {
  const records = ['boot line', 'kmod-harness: mark load:j1 begin', 'insmod line', 'kmod-harness: mark load:j1 end', 'between', 'kmod-harness: mark test:j1 begin', 'WARNING: here'].map((text) => ({ text }));
  it('names the stage whose begin marker encloses the record, nothing between stages or before the job', () => {
    expect(stageAt(records, 2)).toBe('load');
    expect(stageAt(records, 4)).toBeUndefined();
    expect(stageAt(records, 6)).toBe('test');
    expect(stageAt(records, 0)).toBeUndefined();
  });
});
