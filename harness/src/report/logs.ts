// What the reports embed of a run's logs: bounded excerpts (the artifacts directory holds each
// log as the run kept it), and a note of what the output limit dropped.
import { excerpt } from '../util/bounded-text.js';
import { formatBytes } from '../util/format.js';
import type { KernelResult } from '../run.js';

/** The most of one log a report embeds: head and tail, 32 KiB each. */
export const REPORT_LOG_BYTES = 64 * 1024;

/** The result with each log cut to an excerpt of `maxBytes`: what the JSON reports hold. */
export function withLogExcerpts(r: KernelResult, maxBytes: number = REPORT_LOG_BYTES): KernelResult {
  const logs = Object.fromEntries(Object.entries(r.logs).map(([name, log]) => [name, log === undefined ? log : excerpt(log, maxBytes)]));
  return { ...r, logs };
}

const STREAMS = [
  ['stdout', 'test stdout'],
  ['stderr', 'test stderr'],
  ['console', 'console'],
] as const;

/**
 * What the output limit dropped, in words ('1.0 GiB of test stdout dropped (output limit: head
 * and tail kept)'), or undefined when nothing was. `only` restricts it to some streams.
 */
export function droppedNote(
  r: Pick<KernelResult, 'dropped'>,
  only: ReadonlyArray<'stdout' | 'stderr' | 'console'> = ['stdout', 'stderr', 'console'],
): string | undefined {
  const parts = STREAMS.filter(([s]) => only.includes(s) && (r.dropped?.[s] ?? 0) > 0).map(([s, name]) => `${formatBytes(r.dropped![s]!)} of ${name}`);
  return parts.length === 0 ? undefined : `${parts.join(', ')} dropped (output limit: head and tail kept)`;
}
