// Starts QEMU, watches its serial console, and guarantees it is gone afterwards: stop()
// waits briefly for a guest power-off, then kills; a process-wide teardown covers errors
// and signals.
import { execa, type ResultPromise } from 'execa';
import { BootError, HarnessError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { onTeardown } from '../lifecycle.js';
import { qemuArgs, type QemuOptions } from './args.js';
import { freePort } from './port.js';

export interface VmExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

export interface Vm {
  readonly sshPort: number;
  readonly argv: string[];
  /** Everything the guest has written to its console so far. */
  console(): string;
  /** Resolves when `pattern` appears on the console; rejects if QEMU exits or time runs out. */
  waitForConsole(pattern: string | RegExp, timeoutMs: number): Promise<void>;
  /** Settles when QEMU exits, for whatever reason. */
  readonly exited: Promise<VmExit>;
  isRunning(): boolean;
  /** Wait up to graceMs for QEMU to exit by itself, then kill it. Idempotent. */
  stop(graceMs?: number): Promise<VmExit>;
}

/** QEMU's complaint when the forwarded port was taken between our check and its bind. */
export const PORT_TAKEN = /Could not set up host forwarding rule/;
const PORT_ATTEMPTS = 3;

/** Settles with `exited`, or with undefined after ms; leaves no timer behind either way. */
async function exitWithin(exited: Promise<VmExit>, ms: number): Promise<VmExit | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function matches(text: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

async function startOnce(options: Omit<QemuOptions, 'sshPort'>, sshPort: number, earlyMs: number): Promise<Vm | 'port-taken'> {
  const qemu = await requireTool('qemu-system-x86_64');
  const argv = qemuArgs({ ...options, sshPort });
  const child: ResultPromise<{ stdin: 'ignore'; buffer: false; reject: false; cleanup: true }> = execa(qemu, argv, {
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cleanup: true,
  });
  let consoleText = '';
  let stderr = '';
  let running = true;
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    consoleText += chunk;
    for (const l of listeners) l();
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited: Promise<VmExit> = child.then((r) => {
    running = false;
    for (const l of listeners) l();
    return { exitCode: r.exitCode, signal: r.signal, stderr };
  });
  const removeTeardown = onTeardown(async () => {
    if (!running) return;
    child.kill('SIGKILL');
    await exited;
  });
  void exited.then(() => removeTeardown());

  // QEMU fails within milliseconds when it cannot bind the forwarded port.
  const early = await exitWithin(exited, earlyMs);
  if (early && PORT_TAKEN.test(early.stderr)) return 'port-taken';

  const vm: Vm = {
    sshPort,
    argv: [qemu, ...argv],
    console: () => consoleText,
    exited,
    isRunning: () => running,
    waitForConsole(pattern, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new HarnessError('E_CONSOLE_TIMEOUT', 'timeout', `no '${String(pattern)}' on the console within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        const check = () => {
          if (matches(consoleText, pattern)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (!running) {
            clearTimeout(timer);
            listeners.delete(check);
            const said = stderr.trim().split('\n')[0];
            reject(new BootError(`QEMU exited before '${String(pattern)}' appeared on the console${said ? `: ${said}` : ''}`, { detail: `${stderr}\n${consoleText.slice(-4000)}` }));
          }
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 0) {
      if (running && graceMs > 0) await exitWithin(exited, graceMs);
      if (running) child.kill('SIGKILL');
      return exited;
    },
  };
  return vm;
}

/** Boot QEMU on a free local port, retrying on another port if the chosen one was taken meanwhile. */
export async function startVm(options: Omit<QemuOptions, 'sshPort'>): Promise<Vm> {
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const vm = await startOnce(options, await freePort(), 150);
    if (vm !== 'port-taken') {
      const early = vm.isRunning() ? undefined : await vm.exited;
      if (early) {
        throw new BootError(`QEMU exited at start (code ${early.exitCode ?? early.signal}): ${early.stderr.trim().split('\n')[0] ?? ''}`, {
          detail: early.stderr,
          fix: 'see the QEMU message: is the kernel or initramfs path unreadable, or the machine type unsupported?',
        });
      }
      return vm;
    }
  }
  throw new BootError(`could not bind a local port for SSH forwarding after ${PORT_ATTEMPTS} attempts`, {
    fix: 'free some local TCP ports (many ports in use on 127.0.0.1?) and retry',
  });
}
