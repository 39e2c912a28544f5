// The live view's state: one row per kernel, folded from the event stream by a pure reducer
// (times come in as `now`), and each row's text. tty.ts only draws what this computes.
import type { HarnessEvent, Stage } from '../events.js';
import { bytesText, eventKey, progressText } from './lines.js';

/** Key of the row for events of no kernel (host setup) or of a kernel that has no row. */
export const GENERAL = '';

export interface Row {
  /** The kernel as the user named it (the series), or GENERAL. */
  key: string;
  /** The exact release, once an event names the kernel otherwise than the series. */
  release?: string;
  /** When its first and its latest event came. */
  since?: number;
  last?: number;
  running: ReadonlyArray<{ stage: Stage; since: number }>;
  done: ReadonlyArray<{ stage: Stage; ms: number }>;
  download?: { stage: Stage; what: string; done: number; total?: number; unit?: 'bytes' | 'objects' };
  /** The latest info message; shown while the row runs. */
  info?: string;
  warnings: readonly string[];
  /** `ms`: the kernel's wall time, from its result when known; `during`: the stages cut short. */
  end?: { ms?: number; outcome: string; during?: string };
}

export type Rows = readonly Row[];

/** What finish() is told of each kernel; a KernelResult fits. */
export interface FinishedKernel {
  series?: string;
  kernel: string;
  outcome: string;
  stages?: { total?: number };
}

const emptyRow = (key: string): Row => ({ key, running: [], done: [], warnings: [] });

/** The general row first, then one per kernel in the order given. */
export function initialRows(series: readonly string[]): Rows {
  return [emptyRow(GENERAL), ...[...new Set(series)].filter((s) => s !== GENERAL).map(emptyRow)];
}

function update(row: Row, event: HarnessEvent, now: number, foreign: string | undefined): Row {
  // Messages about a kernel without a row land on the general row: say whose they are.
  const about = (message: string): string => (foreign ? `${foreign}: ${message}` : message);
  const next: Row = { ...row, since: row.since ?? now, last: now };
  if (row.key !== GENERAL && event.kernel && event.kernel !== row.key) next.release = event.kernel;
  switch (event.type) {
    case 'stage-start':
      next.running = [...row.running.filter((s) => s.stage !== event.stage), { stage: event.stage, since: now }];
      break;
    case 'stage-end':
      next.running = row.running.filter((s) => s.stage !== event.stage);
      next.done = [...row.done.filter((s) => s.stage !== event.stage), { stage: event.stage, ms: event.ms }];
      if (row.download?.stage === event.stage) delete next.download;
      break;
    case 'info':
      next.info = about(event.message);
      break;
    case 'warn':
      next.warnings = [...row.warnings, about(event.message)];
      break;
    case 'progress':
      next.download = {
        stage: event.stage,
        what: event.what,
        done: event.done,
        ...(event.total ? { total: event.total } : {}),
        ...(event.unit ? { unit: event.unit } : {}),
      };
      break;
    case 'kernel-end':
      // Only a kernel's own row ends here; the general row ends with finish().
      if (row.key === GENERAL) break;
      next.running = [];
      delete next.download;
      next.end = { outcome: event.outcome, ms: event.ms };
      break;
  }
  return next;
}

/** `rows` after `event`, which came at `now` (ms). A row that has ended takes no more events. */
export function reduceRows(rows: Rows, event: HarnessEvent, now: number): Rows {
  const key = eventKey(event) ?? GENERAL;
  const own = rows.some((r) => r.key === key);
  const target = own ? key : GENERAL;
  return rows.map((r) => (r.key === target && !r.end ? update(r, event, now, own ? undefined : key) : r));
}

/**
 * End every row still open: a kernel's with its result's outcome, one without a result with
 * `missing` ('not run' if it never had an event), the general row 'done'.
 */
export function settleRows(rows: Rows, results: readonly FinishedKernel[], now: number, missing = 'did not finish'): Rows {
  return rows.map((row) => {
    if (row.end) return row;
    const result = results.find((r) => (r.series ?? r.kernel) === row.key);
    const outcome = row.key === GENERAL ? 'done' : (result?.outcome ?? (row.since === undefined ? 'not run' : missing));
    const { download: _download, ...rest } = row;
    const ms = result?.stages?.total ?? (row.since === undefined ? undefined : now - row.since);
    const during = !result && row.running.length > 0 ? row.running.map((s) => s.stage).join(', ') : undefined;
    return {
      ...rest,
      ...(result && result.kernel !== row.key ? { release: result.kernel } : {}),
      running: [],
      end: { outcome, ...(ms === undefined ? {} : { ms }), ...(during ? { during } : {}) },
    };
  });
}

export type RowStatus = 'waiting' | 'running' | 'passed' | 'failed';
export type Tone = 'plain' | 'dim' | 'warn';

export interface RowView {
  status: RowStatus;
  /** Empty for a general row that never had an event: nothing to show. */
  lines: Array<{ text: string; tone: Tone }>;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** How many warnings a row keeps on screen; older ones are counted. */
export const SHOWN_WARNINGS = 3;

export function rowStatus(row: Row): RowStatus {
  if (row.end) return row.end.outcome === 'pass' || row.key === GENERAL ? 'passed' : 'failed';
  return row.since === undefined ? 'waiting' : 'running';
}

/** The row's text at `now`: heading (name and what it does), stages done, download, info, warnings. */
export function viewRow(row: Row, now: number): RowView {
  const status = rowStatus(row);
  if (row.key === GENERAL && row.since === undefined) return { status, lines: [] };
  const name = row.key === GENERAL ? 'host' : row.release ? `${row.key} (${row.release})` : row.key;
  // Teardown is a kernel's last stage; its verdict comes with its kernel-end event.
  const finished = row.running.length === 0 && row.done.some((s) => s.stage === 'teardown');
  let doing = '';
  if (row.end) doing = `${row.end.outcome}${row.end.ms === undefined ? '' : ` in ${seconds(row.end.ms)}`}${row.end.during ? `, during ${row.end.during}` : ''}`;
  else if (row.running.length > 0) doing = row.running.map((s) => `${s.stage} ${seconds(now - s.since)}`).join(', ');
  else if (row.since === undefined) doing = 'waiting';
  else if (finished) doing = `finished in ${seconds(row.last! - row.since)}`;
  const lines: RowView['lines'] = [{ text: doing ? `${name}  ${doing}` : name, tone: 'plain' }];
  if (row.done.length > 0) lines.push({ text: `done: ${row.done.map((s) => `${s.stage} ${s.ms} ms`).join(', ')}`, tone: 'dim' });
  if (row.download) {
    const d = row.download;
    lines.push({ text: d.unit === 'objects' ? progressText(d) : `downloading ${bytesText(d.done, d.total)} (${d.what})`, tone: 'plain' });
  }
  if (row.info && !row.end && !finished) lines.push({ text: row.info, tone: 'dim' });
  const hidden = row.warnings.length - SHOWN_WARNINGS;
  if (hidden > 0) lines.push({ text: `(${hidden} earlier warning${hidden === 1 ? '' : 's'})`, tone: 'warn' });
  for (const w of row.warnings.slice(-SHOWN_WARNINGS)) lines.push({ text: `warning: ${w}`, tone: 'warn' });
  return { status, lines };
}
