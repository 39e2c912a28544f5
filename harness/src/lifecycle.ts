// Teardowns that must run however a run ends: normal return, thrown error, SIGINT or
// SIGTERM. Registered teardowns run in reverse order, each at most once.
type Teardown = () => Promise<void> | void;

const teardowns = new Set<{ fn: Teardown }>();
let handlersInstalled = false;

/** Register a teardown; the returned function runs it now and unregisters it. */
export function onTeardown(fn: Teardown): () => Promise<void> {
  const entry = { fn };
  teardowns.add(entry);
  return async () => {
    if (!teardowns.delete(entry)) return;
    await fn();
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

/** Run on SIGINT/SIGTERM after every teardown, just before exiting: last-resort sweeps. */
const finalSweeps = new Set<() => void>();

export function onSignalExit(fn: () => void): void {
  finalSweeps.add(fn);
}

let stopping = false;

/** True once a signal started the teardown: nothing should be started or retried any more. */
export function isStopping(): boolean {
  return stopping;
}

/** On SIGINT/SIGTERM: run every teardown, then exit 130/143 as a shell would. */
export function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const handle = (signal: NodeJS.Signals, code: number) => {
    // `on`, not `once`: execa's exit hook re-raises the signal (killing us before the
    // teardowns finish) as soon as it sees no other listener for it.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\nkmod-harness: ${signal}, stopping VMs and removing temporary files\n`);
      void runAllTeardowns().finally(() => {
        for (const sweep of finalSweeps) {
          try {
            sweep();
          } catch {
            // Best effort: the exit must happen.
          }
        }
        process.exit(code);
      });
    });
  };
  handle('SIGINT', 130);
  handle('SIGTERM', 143);
}

/**
 * Kill `subprocess` and wait for it if the run is torn down while it still runs. Started with
 * `detached: true` it leads its own process group, and the whole group goes: a build's make
 * and every compiler it started.
 */
export function killOnTeardown<T extends { pid?: number | undefined; kill(signal?: NodeJS.Signals): boolean } & PromiseLike<unknown>>(subprocess: T): T {
  const entry = {
    fn: async () => {
      try {
        if (subprocess.pid) process.kill(-subprocess.pid, 'SIGKILL');
      } catch {
        subprocess.kill('SIGKILL'); // not a group leader
      }
      await Promise.resolve(subprocess).then(
        () => undefined,
        () => undefined,
      );
    },
  };
  teardowns.add(entry);
  // Once it has ended there is nothing to kill: drop the teardown without running it.
  const settle = () => {
    teardowns.delete(entry);
  };
  Promise.resolve(subprocess).then(settle, settle);
  return subprocess;
}
