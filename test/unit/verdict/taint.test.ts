import { describe, expect, it } from 'vitest';
import { TAINT_FLAGS, newTaint, taintLetters, taintMeanings } from '../../../harness/src/verdict/taint.js';

describe('TAINT_FLAGS', () => {
  it('follows tainted-kernels.rst bit order', () => {
    expect(TAINT_FLAGS.map((f) => f.letter).join('')).toBe('PFSRMBUDAWCIOELKXTNJ');
    expect(TAINT_FLAGS.map((f) => f.bit)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('taintLetters', () => {
  it.each([
    [0, ''],
    [1, 'P'],
    [4096, 'O'],
    [12288, 'OE'],
    [512 + 128, 'DW'],
    [2 ** 19, 'J'],
    [2 ** 20, '?'],
  ])('%i -> %j', (mask, letters) => {
    expect(taintLetters(mask)).toBe(letters);
  });

  it('stays exact above bit 30', () => {
    expect(taintLetters(2 ** 31 + 1)).toBe('P?');
  });
});

describe('taintMeanings', () => {
  it('explains each letter and skips unknown ones', () => {
    expect(taintMeanings('W?Z')).toEqual(['kernel issued a warning']);
    expect(taintMeanings('DL')).toEqual(['kernel died recently, i.e. there was an OOPS or BUG', 'soft lockup occurred']);
  });
});

describe('newTaint', () => {
  it('ignores O and E, the price of any out-of-tree unsigned module', () => {
    expect(newTaint(0, 12288)).toEqual({ mask: 0, letters: '', meanings: [] });
  });

  it("ignores N, which KUnit sets when a module's suite runs (seen on 6.1-debug: 12288 + 262144)", () => {
    expect(newTaint(0, 12288 + 262144)).toEqual({ mask: 0, letters: '', meanings: [] });
    expect(newTaint(0, 12288 + 262144 + 512).letters).toBe('W');
  });

  it('reports bits newly set besides the allowed ones', () => {
    expect(newTaint(12288, 12288 + 512)).toEqual({ mask: 512, letters: 'W', meanings: ['kernel issued a warning'] });
    expect(newTaint(0, 12288 + 512 + 128).letters).toBe('DW');
  });

  it('does not report bits that were already set before the test', () => {
    expect(newTaint(512, 512 + 4096).letters).toBe('');
  });

  it('honours a custom allow list', () => {
    expect(newTaint(0, 1 + 4096, '').letters).toBe('PO');
    expect(newTaint(0, 512 + 16384, 'WL')).toEqual({ mask: 0, letters: '', meanings: [] });
  });

  it('reports unknown bits as ?', () => {
    expect(newTaint(0, 2 ** 25)).toEqual({ mask: 2 ** 25, letters: '?', meanings: ['unknown taint bit 25'] });
  });
});
