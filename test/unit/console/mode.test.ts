import { describe, expect, it } from 'vitest';
import { chooseOutputMode } from '../../../harness/src/console/mode.js';

describe('chooseOutputMode', () => {
  it('draws live rows on a terminal', () => {
    expect(chooseOutputMode({ isTTY: true, env: { TERM: 'xterm-256color' } })).toBe('tty');
  });

  it('prints lines when not a terminal, or asked to', () => {
    expect(chooseOutputMode({ isTTY: false, env: {} })).toBe('plain');
    expect(chooseOutputMode({ isTTY: undefined, env: {} })).toBe('plain');
    expect(chooseOutputMode({ isTTY: true, env: {}, plainFlag: true })).toBe('plain');
  });

  it('prints lines in CI, with NO_COLOR and on a dumb terminal', () => {
    expect(chooseOutputMode({ isTTY: true, env: { CI: 'true' } })).toBe('plain');
    expect(chooseOutputMode({ isTTY: true, env: { CI: '1' } })).toBe('plain');
    expect(chooseOutputMode({ isTTY: true, env: { NO_COLOR: '1' } })).toBe('plain');
    expect(chooseOutputMode({ isTTY: true, env: { TERM: 'dumb' } })).toBe('plain');
  });

  it('prints lines on a terminal of no size, where rows would be clipped away', () => {
    expect(chooseOutputMode({ isTTY: true, env: {}, columns: 0, rows: 0 })).toBe('plain');
    expect(chooseOutputMode({ isTTY: true, env: {}, columns: 120, rows: 0 })).toBe('plain');
    expect(chooseOutputMode({ isTTY: true, env: {}, columns: 120, rows: 40 })).toBe('tty');
  });

  it('ignores CI=false and an empty NO_COLOR', () => {
    expect(chooseOutputMode({ isTTY: true, env: { CI: 'false', NO_COLOR: '' } })).toBe('tty');
    expect(chooseOutputMode({ isTTY: true, env: { CI: '0' } })).toBe('tty');
  });
});
