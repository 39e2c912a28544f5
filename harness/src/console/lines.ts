// Plain output, one line per event (pipes, CI, --plain): greppable, prefixed by the kernel as
// the user named it, with download progress cut to quarters so that logs stay short.
import type { Emit, HarnessEvent, Stage } from '../events.js';
import { decimalAmount, formatDecimal } from '../util/format.js';

/** "38.2/61.0 MB", or "38.2 MB" when the total is unknown. */
export function bytesText(done: number, total?: number): string {
  return total ? `${decimalAmount(done, 'MB')}/${formatDecimal(total, 'MB')}` : formatDecimal(done, 'MB');
}

/** A progress event's amount: bytes of a download, or objects of a kernel build. */
export function progressText(p: { what: string; done: number; total?: number; unit?: 'bytes' | 'objects' }): string {
  const percent = p.total ? ` (${Math.floor((p.done * 100) / p.total)}%)` : '';
  if (p.unit === 'objects') return `building ${p.what}: ${p.done}${p.total ? `/~${p.total}` : ''} objects${percent}`;
  return `downloading ${p.what}: ${bytesText(p.done, p.total)}${percent}`;
}

/** A build of unknown size prints a line per this many objects. */
const OBJECTS_STEP = 1000;

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
    case 'progress':
      return `${prefix}${progressText(event)}`;
  }
}

interface Download {
  who: string | undefined;
  stage: Stage;
  what: string;
  /** Quarters printed so far, 0-4 (tenths or thousands of objects for a build). */
  quarter: number;
  done: number;
  total?: number;
  unit?: 'bytes' | 'objects';
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
    // Builds of known size print every tenth, of unknown size every OBJECTS_STEP objects.
    const quarter =
      event.unit === 'objects'
        ? event.total
          ? Math.min(10, Math.floor((event.done * 10) / event.total))
          : Math.floor(event.done / OBJECTS_STEP)
        : event.total
          ? Math.min(4, Math.floor((event.done * 4) / event.total))
          : 0;
    const next = new Map(state).set(key, {
      who,
      stage: event.stage,
      what: event.what,
      quarter: Math.max(before, quarter),
      done: event.done,
      ...(event.total ? { total: event.total } : {}),
      ...(event.unit ? { unit: event.unit } : {}),
    });
    return { state: next, lines: quarter > before ? [formatLine(event)] : [] };
  }
  if (event.type !== 'stage-end') return { state, lines: [formatLine(event)] };
  const lines: string[] = [];
  const next = new Map(state);
  for (const [key, d] of state) {
    if (d.who !== who || d.stage !== event.stage) continue;
    if (d.total === undefined && d.done > 0 && d.unit !== 'objects') lines.push(`${who ? `[${who}] ` : ''}downloaded ${d.what}: ${bytesText(d.done)}`);
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
