// Plain output, one line per event (pipes, CI, --plain): greppable, prefixed by the kernel as
// the user named it, with download progress cut to quarters so that logs stay short.
import type { Emit, HarnessEvent, Stage } from '../events.js';

export const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(1);

/** "38.2/61.0 MB", or "38.2 MB" when the total is unknown. */
export function bytesText(done: number, total?: number): string {
  return total ? `${megabytes(done)}/${megabytes(total)} MB` : `${megabytes(done)} MB`;
}

/** Who an event is about: the kernel as the user named it, else what the stage calls it. */
export const eventKey = (event: HarnessEvent): string | undefined => event.series ?? event.kernel;

/** The line for one event, progress included (plainStep decides which progress to print). */
export function formatLine(event: HarnessEvent): string {
  const who = eventKey(event);
  const prefix = who ? `[${who}] ` : '';
  switch (event.type) {
    case 'stage-start':
      return `${prefix}${event.stage}...`;
    case 'stage-end':
      return `${prefix}${event.stage} done in ${event.ms} ms${event.detail ? ` (${event.detail})` : ''}`;
    case 'info':
      return `${prefix}${event.message}`;
    case 'warn':
      return `${prefix}warning: ${event.message}`;
    case 'kernel-end':
      return `${prefix}${event.outcome} in ${(event.ms / 1000).toFixed(1)} s`;
    case 'progress': {
      const percent = event.total ? ` (${Math.floor((event.done * 100) / event.total)}%)` : '';
      return `${prefix}downloading ${event.what}: ${bytesText(event.done, event.total)}${percent}`;
    }
  }
}

interface Download {
  who: string | undefined;
  stage: Stage;
  what: string;
  /** Quarters printed so far, 0-4. */
  quarter: number;
  done: number;
  total?: number;
}

/** The downloads in flight, by who, stage and what. */
export type PlainState = ReadonlyMap<string, Download>;

export const initialPlainState: PlainState = new Map();

/**
 * The lines to print for `event`. A download prints when it reaches the next quarter of its
 * total (25, 50, 75, 100 %, skipped ones folded into one line); one of unknown total prints
 * its size once, when its stage ends.
 */
export function plainStep(state: PlainState, event: HarnessEvent): { state: PlainState; lines: string[] } {
  const who = eventKey(event);
  if (event.type === 'progress') {
    const key = `${who ?? ''}\0${event.stage}\0${event.what}`;
    const before = state.get(key)?.quarter ?? 0;
    const quarter = event.total ? Math.min(4, Math.floor((event.done * 4) / event.total)) : 0;
    const next = new Map(state).set(key, { who, stage: event.stage, what: event.what, quarter: Math.max(before, quarter), done: event.done, ...(event.total ? { total: event.total } : {}) });
    return { state: next, lines: quarter > before ? [formatLine(event)] : [] };
  }
  if (event.type !== 'stage-end') return { state, lines: [formatLine(event)] };
  const lines: string[] = [];
  const next = new Map(state);
  for (const [key, d] of state) {
    if (d.who !== who || d.stage !== event.stage) continue;
    if (d.total === undefined && d.done > 0) lines.push(`${who ? `[${who}] ` : ''}downloaded ${d.what}: ${bytesText(d.done)}`);
    next.delete(key);
  }
  lines.push(formatLine(event));
  return { state: next, lines };
}

/** An emit printing plainStep's lines to `stream`. */
export function plainEmit(stream: NodeJS.WritableStream): Emit {
  let state = initialPlainState;
  return (event) => {
    const step = plainStep(state, event);
    state = step.state;
    for (const line of step.lines) stream.write(`${line}\n`);
  };
}
