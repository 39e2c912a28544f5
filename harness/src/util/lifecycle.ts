// Teardowns that must run however a run ends: normal return, thrown error, SIGINT or
// SIGTERM, an uncaught exception. Registered teardowns run in reverse order, each at most
// once. A second signal does not wait for them: it SIGKILLs what they would stop (their hard
// kills, synchronous), sweeps what can be removed synchronously, and exits at once.
type Teardown = () => Promise<void> | void;
/** A teardown's last resort, run synchronously when there is no time to await it: SIGKILL. */
type HardKill = () => void;

const teardowns = new Set<{ fn: () => Promise<void> }>();
/** Until the teardown that registered each has finished (or what it kills has ended). */
const hardKills = new Set<{ fn: HardKill }>();
let handlersInstalled = false;
let crashHandlersInstalled = false;

/**
 * Register `fn` as a hard kill; the returned function unregisters it. Runs only when the
 * process must end now (a second Ctrl-C, a crash whose teardown hangs), before the exit.
 */
export function onHardKill(fn: HardKill): () => void {
  const entry = { fn };
  hardKills.add(entry);
  return () => void hardKills.delete(entry);
}

export interface TeardownOptions {
  /** What to do synchronously if the process must end before this teardown finishes (SIGKILL a VM). */
  hardKill?: HardKill;
}

/** Register a teardown; the returned function runs it now and unregisters it. */
export function onTeardown(fn: Teardown, options: TeardownOptions = {}): () => Promise<void> {
  const dropHardKill = options.hardKill ? onHardKill(options.hardKill) : () => {};
  // The hard kill stays until the teardown has finished: it is what a hanging one leaves.
  const entry = {
    fn: async () => {
      try {
        await fn();
      } finally {
        dropHardKill();
      }
    },
  };
  teardowns.add(entry);
  return async () => {
    if (!teardowns.delete(entry)) return;
    await entry.fn();
  };
}

export async function runAllTeardowns(): Promise<void> {
  // Until none is left: a stage still running while the others are torn down (a parallel
  // kernel's mkdtemp, say) may register one more, which must not outlive the process.
  while (teardowns.size > 0) {
    for (const entry of [...teardowns].reverse()) {
      teardowns.delete(entry);
      try {
        await entry.fn();
      } catch (e) {
        if (process.env.KMOD_HARNESS_DEBUG) process.stderr.write(`teardown failed: ${String(e)}\n`);
        // A failing teardown must not stop the others.
      }
    }
  }
}

/** Run on every exit the handlers make (after the teardowns, or instead of them): last-resort sweeps. */
const finalSweeps = new Set<() => void>();

/** Register a synchronous sweep for the handlers' exits; the returned function unregisters it. */
export function onSignalExit(fn: () => void): () => void {
  const entry = () => fn();
  finalSweeps.add(entry);
  return () => void finalSweeps.delete(entry);
}

function runFinalSweeps(): void {
  for (const sweep of finalSweeps) {
    try {
      sweep();
    } catch {
      // Best effort: the exit must happen.
    }
  }
}

/** Every hard kill, then every sweep, then exit `code`: no await, nothing left to hang on. */
function exitNow(line: string, code: number): never {
  for (const { fn } of hardKills) {
    try {
      fn();
    } catch {
      // Already gone.
    }
  }
  hardKills.clear();
  runFinalSweeps();
  process.stderr.write(`kmod-harness: ${line}\n`);
  process.exit(code);
}

let stopping = false;

/** True once a signal or a crash started the teardown: nothing should be started or retried any more. */
export function isStopping(): boolean {
  return stopping;
}

/**
 * On SIGINT/SIGTERM: run every teardown, then exit 130/143 as a shell would. A second signal
 * while they run (one may hang) kills at once and exits with that signal's code.
 */
export function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const handle = (signal: NodeJS.Signals, code: number) => {
    // `on`, not `once`: execa's exit hook re-raises the signal (killing us before the
    // teardowns finish) as soon as it sees no other listener for it.
    process.on(signal, () => {
      if (stopping) exitNow(`${signal} again: killed VMs and builds, exiting without waiting for the cleanup`, code);
      stopping = true;
      process.stderr.write(
        `\nkmod-harness: ${signal}, stopping VMs and removing temporary files (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to kill at once)\n`,
      );
      void runAllTeardowns().finally(() => {
        runFinalSweeps();
        process.exit(code);
      });
    });
  };
  handle('SIGINT', 130);
  handle('SIGTERM', 143);
}

/** Exit code of a crash (EX_SOFTWARE): not a verdict (0/1), bad input (2) or a signal (130/143). */
export const CRASH_EXIT_CODE = 70;
/** How long a crash's teardown may take before everything is killed. */
export const CRASH_TEARDOWN_MS = 10_000;

/**
 * For CLI processes (a library must not own its host's crashes): an uncaught exception or
 * unhandled rejection prints the error, runs the teardowns (at most CRASH_TEARDOWN_MS, then the
 * hard kills) and exits CRASH_EXIT_CODE, so a bug never leaves a QEMU behind.
 */
export function installCrashHandlers(teardownMs = CRASH_TEARDOWN_MS): void {
  if (crashHandlersInstalled) return;
  crashHandlersInstalled = true;
  let crashed = false;
  const crash = (kind: string, error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    // A second crash, or one during a signal's teardown: nothing can be trusted to finish.
    if (crashed || stopping) exitNow(`${kind} while stopping: ${text}`, CRASH_EXIT_CODE);
    crashed = true;
    stopping = true;
    process.stderr.write(`kmod-harness: internal error (${kind}), a bug in kmod-harness: ${text}\nkmod-harness: stopping VMs and removing temporary files\n`);
    setTimeout(() => exitNow(`the cleanup took over ${teardownMs / 1000} s: killed VMs and builds`, CRASH_EXIT_CODE), teardownMs);
    void runAllTeardowns().finally(() => {
      runFinalSweeps();
      process.exit(CRASH_EXIT_CODE);
    });
  };
  process.on('uncaughtException', (error) => crash('uncaught exception', error));
  process.on('unhandledRejection', (reason) => crash('unhandled rejection', reason));
}

/**
 * Kill `subprocess` and wait for it if the run is torn down while it still runs. Started with
 * `detached: true` it leads its own process group, and the whole group goes: a build's make
 * and every compiler it started. The same kill is its hard kill.
 */
export function killOnTeardown<T extends { pid?: number | undefined; kill(signal?: NodeJS.Signals): boolean } & PromiseLike<unknown>>(
  subprocess: T,
  signal?: AbortSignal,
): T {
  const kill = () => {
    try {
      if (subprocess.pid) process.kill(-subprocess.pid, 'SIGKILL');
    } catch {
      subprocess.kill('SIGKILL'); // not a group leader
    }
  };
  const entry = {
    fn: async () => {
      kill();
      await Promise.resolve(subprocess).then(
        () => undefined,
        () => undefined,
      );
    },
  };
  teardowns.add(entry);
  const dropHardKill = onHardKill(kill);
  // A cancelled or timed-out stage (stageDeadline) takes the whole group with it, not only the
  // leader that execa's cancelSignal reaches: make's children would run on.
  signal?.addEventListener('abort', kill, { once: true });
  // Once it has ended there is nothing to kill: drop both without running them (its pid may
  // be another process's by then).
  const settle = () => {
    teardowns.delete(entry);
    dropHardKill();
    signal?.removeEventListener('abort', kill);
  };
  Promise.resolve(subprocess).then(settle, settle);
  return subprocess;
}
