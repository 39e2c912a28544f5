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
  for (const entry of [...teardowns].reverse()) {
    teardowns.delete(entry);
    try {
      await entry.fn();
    } catch {
      // A failing teardown must not stop the others.
    }
  }
}

/** On SIGINT/SIGTERM: run every teardown, then exit 130/143 as a shell would. */
export function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const handle = (signal: NodeJS.Signals, code: number) => {
    process.once(signal, () => {
      process.stderr.write(`\nkmod-harness: ${signal}, stopping VMs and removing temporary files\n`);
      void runAllTeardowns().finally(() => process.exit(code));
    });
  };
  handle('SIGINT', 130);
  handle('SIGTERM', 143);
}
