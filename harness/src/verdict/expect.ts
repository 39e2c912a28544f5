// Expected kernel-log lines: a test may ship a file of substrings its module must print, in
// order (e.g. `lkmc_mmap: write` then `lkmc_mmap: vm_close`); other lines may come between.
import type { KmsgRecord } from './kmsg.js';

export type MatchResult =
  | { ok: true }
  | {
      ok: false;
      /** The first expected line not found. */
      missing: string;
      /** How many expected lines were found, in order, before it. */
      matched: number;
      /** The last expected line that was found, if any. */
      after?: string;
    };

/** One expected substring per line; blank lines and `#` comments skipped, trailing space trimmed. */
export function parseExpectations(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/** Whether each expected substring occurs in some record, each after the previous one's record. */
export function matchInOrder(records: readonly KmsgRecord[], expected: readonly string[]): MatchResult {
  let next = 0;
  for (let matched = 0; matched < expected.length; matched++) {
    const want = expected[matched];
    while (next < records.length && !records[next].text.includes(want)) next++;
    if (next === records.length) {
      const result: MatchResult = { ok: false, missing: want, matched };
      if (matched > 0) result.after = expected[matched - 1];
      return result;
    }
    next++;
  }
  return { ok: true };
}
