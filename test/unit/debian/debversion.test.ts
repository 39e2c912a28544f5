import { describe, expect, it } from 'vitest';
import { compareVersions, satisfies } from '../../../harness/src/debian/debversion.js';

describe('compareVersions', () => {
  it.each([
    ['6.1.192-2', '6.1.176-1', 1],
    ['6.1.176-1', '6.1.176-1', 0],
    ['6.12.115-2', '6.12.115-1', 1],
    ['6.12.9-1', '6.12.117-1', -1],
    ['1:0.1-1', '9.9-1', 1],
    ['1.0~rc1-1', '1.0-1', -1],
    ['1.0~~-1', '1.0~-1', -1],
    ['1.0-1', '1.0', 1],
    ['1.0', '1.0-0', 0],
    ['1.0a', '1.0', 1],
    ['1.0a', '1.0+', -1],
    ['1.0.0', '1.0', 1],
    ['001.2', '1.2', 0],
    ['4.17~', '4.17', -1],
    ['7.2.13+1', '7.2.13-1', 1],
    ['2.0-1+deb12u1', '2.0-1', 1],
    ['2.0-1~bpo11+1', '2.0-1', -1],
  ])('%s vs %s -> %i', (a, b, expected) => {
    expect(Math.sign(compareVersions(a, b))).toBe(expected);
    expect(Math.sign(compareVersions(b, a))).toBe(expected === 0 ? 0 : -expected);
  });

  it('sorts like apt', () => {
    const sorted = ['6.1.176-1', '6.1.0~rc1-1', '1:5.0-1', '6.1.192-2', '6.1.176-1+b1'].sort(compareVersions);
    expect(sorted).toEqual(['6.1.0~rc1-1', '6.1.176-1', '6.1.176-1+b1', '6.1.192-2', '1:5.0-1']);
  });
});

describe('satisfies', () => {
  it('checks Depends relations', () => {
    expect(satisfies('6.1.192-2', '>=', '6.1.176-1')).toBe(true);
    expect(satisfies('6.1.176-1', '>=', '6.1.192-2')).toBe(false);
    expect(satisfies('7.2.13-1', '=', '7.2.13-1')).toBe(true);
    expect(satisfies('7.2.13-1', '<<', '7.2.13-1')).toBe(false);
    expect(satisfies('7.2.12-1', '<<', '7.2.13-1')).toBe(true);
    expect(satisfies('7.2.13-1', '<=', '7.2.13-1')).toBe(true);
    expect(satisfies('7.2.14-1', '>>', '7.2.13-1')).toBe(true);
  });
});
