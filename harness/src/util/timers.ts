// Node's timers take at most 2^31-1 ms (~24.8 days): a longer delay fires at once, with only a
// warning. Limits set in the config or by flags are refused above this cap, and every timer a
// user's value feeds (the vitest API's too) goes through safeDelayMs: a huge value waits.
// Stage deadlines (stageDeadline, withDeadline) turn a limit into a cancel signal for subprocesses.
import { TimeoutError } from '../errors.js';

/** The longest delay setTimeout honours. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** The longest time limit in seconds a user may set: MAX_DELAY_MS, in whole seconds (2147483). */
export const MAX_TIMEOUT_S = Math.floor(MAX_DELAY_MS / 1000);

/** `ms` as a delay setTimeout honours: clamped to 0..MAX_DELAY_MS, NaN as 0. */
export function safeDelayMs(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(ms, MAX_DELAY_MS);
}

/** What a time limit over the cap is told. */
export const OVER_CAP = `at most ${MAX_TIMEOUT_S} seconds (~24.8 days: the longest a timer can wait)`;

/** Why `seconds` is no usable time limit, or undefined when it is one (positive, finite, within the cap). */
export function timeoutProblem(seconds: number): string | undefined {
  if (!Number.isFinite(seconds) || seconds <= 0) return 'expected a positive number of seconds';
  if (seconds > MAX_TIMEOUT_S) return OVER_CAP;
  return undefined;
}

export interface Deadline {
  /** Aborts when the time is up, with a TimeoutError naming the stage as its reason (or with the parent's reason). */
  signal: AbortSignal;
  /** The stage ended: stop the clock. */
  clear(): void;
}

/**
 * A time limit for a stage that runs subprocesses: each takes the signal (execa's cancelSignal,
 * lifecycle.ts killOnTeardown for its process group) and, once it returns, throws the signal's
 * reason, so expiry is outcome `timeout` naming the stage. `parent` cancels it too.
 */
export function stageDeadline(stage: string, seconds: number, options: { parent?: AbortSignal; fix?: string } = {}): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(stage, seconds, { ...(options.fix ? { fix: options.fix } : {}) })),
    safeDelayMs(seconds * 1000),
  );
  // Never what keeps the process alive: the stage's own work does that.
  timer.unref();
  const fromParent = () => controller.abort(options.parent!.reason);
  if (options.parent?.aborted) fromParent();
  else options.parent?.addEventListener('abort', fromParent, { once: true });
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      options.parent?.removeEventListener('abort', fromParent);
    },
  };
}

/**
 * Run `fn` with a stage deadline's signal; the clock stops when it settles. Expiry rejects at
 * once, even if `fn` does not heed the signal (its late result is dropped).
 */
export async function withDeadline<T>(
  stage: string,
  seconds: number,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { parent?: AbortSignal; fix?: string } = {},
): Promise<T> {
  const deadline = stageDeadline(stage, seconds, options);
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(deadline.signal.reason);
    if (deadline.signal.aborted) fail();
    else deadline.signal.addEventListener('abort', fail, { once: true });
  });
  try {
    const work = fn(deadline.signal);
    work.catch(() => undefined);
    aborted.catch(() => undefined);
    const value = await Promise.race([work, aborted]);
    // A stage that swallowed the abort (a subprocess killed, its exit read as a failure) still timed out.
    deadline.signal.throwIfAborted();
    return value;
  } catch (error) {
    if (deadline.signal.aborted) throw deadline.signal.reason;
    throw error;
  } finally {
    deadline.clear();
  }
}
