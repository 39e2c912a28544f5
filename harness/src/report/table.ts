// The result table printed at the end of a run: one row per kernel, with its subtest counts;
// below it, the failing subtests by kernel and the subtests whose result differs by kernel.
import type { KernelResult } from '../run.js';
import type { ResultSubtest } from '../verdict/judge.js';
import { headlineDiagnostic } from '../verdict/tap.js';
import { alignColumns } from '../util/format.js';
import { droppedNote } from './logs.js';

const COLUMNS = ['kernel', 'outcome', 'subtests', 'boot', 'test', 'total', 'reason'] as const;

/** The subtests that stand for themselves: nested ones' parents only summarise them. */
function leaves(subtests: readonly ResultSubtest[]): ResultSubtest[] {
  return subtests.filter((s) => !subtests.some((o) => o.id.startsWith(`${s.id}.`)));
}

/** `12/14 ok, 1 failed, 1 skipped`; '-' when the test printed no TAP. */
export function subtestCounts(r: KernelResult): string {
  if (!r.subtests) return '-';
  const all = leaves(r.subtests);
  const n = (status: ResultSubtest['status']) => all.filter((s) => s.status === status).length;
  const extra = [
    ['failed', n('fail')],
    ['skipped', n('skip')],
    ['todo', n('todo')],
  ].filter(([, count]) => count !== 0);
  return [`${n('pass')}/${all.length} ok`, ...extra.map(([what, count]) => `${count} ${what}`)].join(', ');
}

const label = (s: ResultSubtest): string => (s.name ? `subtest ${s.id} "${s.name}"` : `subtest ${s.id}`);

/** `6.1: subtest 5 "name" failed: <its headline diagnostic>`, for every failed subtest of every kernel. */
export function failingSubtests(results: readonly KernelResult[]): string[] {
  return results.flatMap((r) =>
    leaves(r.subtests ?? [])
      .filter((s) => s.status === 'fail')
      .map((s) => {
        const why = headlineDiagnostic(s.diagnostics);
        return `${r.kernel}: ${label(s)} failed${why ? `: ${why}` : ''}`;
      }),
  );
}

/**
 * One line per subtest whose result differs between kernels (the question a matrix answers):
 * `subtest 5 "both mappings map the same physical page": fail on 7.2, pass on 5.10 6.1 6.12`.
 */
export function subtestDifferences(results: readonly KernelResult[]): string[] {
  const withTap = results.filter((r) => r.subtests);
  if (withTap.length < 2) return [];
  const byId = new Map<string, { subtest: ResultSubtest; status: Map<string, string[]> }>();
  for (const r of withTap) {
    for (const s of leaves(r.subtests!)) {
      const entry = byId.get(s.id) ?? { subtest: s, status: new Map<string, string[]>() };
      entry.status.set(s.status, [...(entry.status.get(s.status) ?? []), r.series]);
      byId.set(s.id, entry);
    }
  }
  const lines: string[] = [];
  for (const { subtest, status } of byId.values()) {
    const seen = [...status.values()].flat().length;
    // Missing on some kernel (the test died before it there) differs too.
    if (status.size < 2 && seen === withTap.length) continue;
    const order: Array<ResultSubtest['status']> = ['fail', 'skip', 'todo', 'pass'];
    const parts = order.filter((st) => status.has(st)).map((st) => `${st} on ${status.get(st)!.join(' ')}`);
    const missing = withTap.filter((r) => ![...status.values()].flat().includes(r.series)).map((r) => r.series);
    if (missing.length > 0) parts.push(`not reached on ${missing.join(' ')}`);
    lines.push(`${label(subtest)}: ${parts.join(', ')}`);
  }
  return lines;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

export function resultRows(results: KernelResult[]): string[][] {
  // The reason, then what the output limit dropped: a pass that lost output says so.
  const reason = (r: KernelResult): string => [r.reasons[0], droppedNote(r)].filter(Boolean).join('; ');
  return results.map((r) => [r.kernel, r.outcome, subtestCounts(r), seconds(r.stages.boot), seconds(r.stages.test), seconds(r.stages.total), reason(r)]);
}

export function formatTable(results: KernelResult[]): string {
  return alignColumns([COLUMNS.map(String), ...resultRows(results)]).join('\n');
}
