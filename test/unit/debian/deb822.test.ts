import { describe, expect, it } from 'vitest';
import { field, parseDeb822 } from '../../../harness/src/debian/deb822.js';

describe('parseDeb822', () => {
  it('splits stanzas, joins continuation lines, skips comments', () => {
    const stanzas = parseDeb822('# a comment\nTypes: deb\nURIs: http://mirror.example/debian\n\n\nPackage: a\nDescription: short\n long line\n .\n');
    expect(stanzas).toHaveLength(2);
    expect(field(stanzas[0]!, 'uris')).toBe('http://mirror.example/debian');
    expect(field(stanzas[1]!, 'Description')).toBe('short\nlong line\n.');
  });

  it('returns nothing for empty text', () => {
    expect(parseDeb822('\n\n')).toEqual([]);
  });
});
