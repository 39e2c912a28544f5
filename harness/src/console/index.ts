// The CLI's live output: createProgress gives the emit to pass to run() and the finish() to
// call (in a finally) once it returns or throws.
import type { Emit } from '../events.js';
import { plainEmit } from './lines.js';
import type { FinishedKernel } from './rows.js';
import { createTtyProgress } from './tty.js';

export { chooseOutputMode, type OutputMode } from './mode.js';
export { formatLine, plainEmit, plainStep, type PlainState } from './lines.js';
export type { FinishedKernel } from './rows.js';

export interface Progress {
  emit: Emit;
  /**
   * Settle each kernel's row by its result's outcome (pass, or failed with the outcome; a
   * kernel without a result 'did not finish') and stop drawing, leaving the final rows on
   * screen. Idempotent; events after it are printed as plain lines.
   */
  finish(results?: readonly FinishedKernel[]): Promise<void>;
}

/**
 * `tty`: live rows, one per series in `series` (events of no series go to a 'host' row);
 * else one line per event. Writes to `stream`, stderr by default.
 */
export function createProgress(o: { series: readonly string[]; tty: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = o.stream ?? process.stderr;
  if (o.tty) return createTtyProgress(o.series, stream);
  return { emit: plainEmit(stream), finish: async () => {} };
}
