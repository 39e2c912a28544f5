import { describe, expect, it } from 'vitest';
import { matchInOrder, parseExpectations } from '../../../harness/src/verdict/expect.js';
import type { KmsgRecord } from '../../../harness/src/verdict/kmsg.js';

const log = (...texts: string[]): KmsgRecord[] => texts.map((text) => ({ text }));

describe('parseExpectations', () => {
  it('keeps one substring per line, skipping blanks and comments, trimming trailing space', () => {
    const text = '# what lkmc_mmap must print\nlkmc_mmap: write  \n\n   \r\nlkmc_mmap: vm_close\r\n  # indented comment\n';
    expect(parseExpectations(text)).toEqual(['lkmc_mmap: write', 'lkmc_mmap: vm_close']);
  });

  it('keeps leading spaces, which may be part of the expected text', () => {
    expect(parseExpectations('  indented')).toEqual(['  indented']);
  });

  it('returns nothing for an empty file', () => {
    expect(parseExpectations('')).toEqual([]);
  });
});

describe('matchInOrder', () => {
  const records = log('lkmc_mmap: open', 'lkmc_mmap: mmap', 'other', 'lkmc_mmap: write', 'lkmc_mmap: vm_close');

  it('accepts a subsequence with other lines between', () => {
    expect(matchInOrder(records, ['lkmc_mmap: open', 'lkmc_mmap: write', 'vm_close'])).toEqual({ ok: true });
    expect(matchInOrder(records, [])).toEqual({ ok: true });
  });

  it('reports the first missing line and the one before it', () => {
    expect(matchInOrder(records, ['lkmc_mmap: write', 'lkmc_mmap: open'])).toEqual({
      ok: false,
      missing: 'lkmc_mmap: open',
      matched: 1,
      after: 'lkmc_mmap: write',
    });
  });

  it('has no `after` when the first line is missing', () => {
    expect(matchInOrder(records, ['lkmc_mmap: release'])).toEqual({ ok: false, missing: 'lkmc_mmap: release', matched: 0 });
  });

  it('needs a separate record for each repeated expectation', () => {
    expect(matchInOrder(log('tick', 'tick'), ['tick', 'tick'])).toEqual({ ok: true });
    expect(matchInOrder(log('tick'), ['tick', 'tick'])).toMatchObject({ ok: false, matched: 1 });
  });
});
