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

/**
 * Where each wanted line (substring or RegExp) is found in `lines`, each after the line the one
 * before it matched: the indexes of the first `found.length` wanted lines; all of them if found.
 */
export function findInOrder(lines: readonly string[], wanted: ReadonlyArray<string | RegExp>): number[] {
  const found: number[] = [];
  let next = 0;
  for (const want of wanted) {
    const hit = (line: string) => (typeof want === 'string' ? line.includes(want) : want.test(line));
    while (next < lines.length && !hit(lines[next]!)) next++;
    if (next === lines.length) break;
    found.push(next++);
  }
  return found;
}

/** Whether each expected substring occurs in some record, each after the previous one's record. */
export function matchInOrder(records: readonly KmsgRecord[], expected: readonly string[]): MatchResult {
  const matched = findInOrder(
    records.map((r) => r.text),
    expected,
  ).length;
  if (matched === expected.length) return { ok: true };
  const result: MatchResult = { ok: false, missing: expected[matched]!, matched };
  if (matched > 0) result.after = expected[matched - 1];
  return result;
}
