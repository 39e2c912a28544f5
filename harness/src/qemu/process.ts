// Starts QEMU, watches its serial console, and guarantees it is gone afterwards: stop()
// waits briefly for a guest power-off, then kills; a process-wide teardown covers errors
// and signals. The console is kept bounded, in memory and in its log file (console-log.ts).
import { StringDecoder } from 'node:string_decoder';
import { execa, type ResultPromise } from 'execa';
import { BoundedText, DEFAULT_OUTPUT_LIMIT_BYTES } from '../util/bounded-text.js';
import { BootError, HarnessError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { onTeardown } from '../util/lifecycle.js';
import { safeDelayMs } from '../util/timers.js';
import { ARCH_FACTS } from '../arch.js';
import { qemuArgs, type QemuOptions } from './args.js';
import { ConsoleLogFile } from './console-log.js';
import { freePort } from './port.js';

export interface VmExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

export interface Vm {
  readonly sshPort: number;
  readonly argv: string[];
  /** What the guest has written to its console so far: all of it, or past the limit its head and tail. */
  console(): string;
  /** Console bytes left out of console() and the log file, past the limit. */
  consoleDropped(): number;
  /** Bring the console log file up to date with console() now (it lags up to ~1 s past the limit). */
  flushConsole(): Promise<void>;
  /** Resolves when `pattern` appears on the console; rejects if QEMU exits or time runs out. */
  waitForConsole(pattern: string | RegExp, timeoutMs: number): Promise<void>;
  /** Type on the guest's serial console (QEMU's stdin): a snapshot's restore hands over the run's secrets so. */
  writeConsole(text: string): void;
  /** Settles when QEMU exits, for whatever reason. */
  readonly exited: Promise<VmExit>;
  isRunning(): boolean;
  /** Wait up to graceMs for QEMU to exit by itself, then kill it. Idempotent. */
  stop(graceMs?: number): Promise<VmExit>;
}

export interface VmOptions extends Omit<QemuOptions, 'sshPort'> {
  /** File that receives the guest's serial console, bounded as console() is. */
  consoleLog: string;
  /** Bytes of console kept, head and tail (default DEFAULT_OUTPUT_LIMIT_BYTES, 16 MiB). */
  consoleLimitBytes?: number;
  /** Console text from before this QEMU: a restored snapshot's boot, as its cold boot printed it. */
  consolePrefix?: Buffer;
  /**
   * How long to watch for QEMU failing to bind its port before handing the VM over (default
   * 150 ms). A restore passes 0: its QMP handshake sees the exit anyway, and it retries on
   * PORT_TAKEN itself.
   */
  earlyMs?: number;
}

/**
 * The most recent console text a ready-marker wait matches against, besides the chunk just
 * read: a marker split across chunks is found, and each chunk costs O(chunk), not O(console).
 */
const MATCH_WINDOW = 4096;
/** QEMU's own stderr kept: its complaints are a few lines. */
const STDERR_LIMIT_BYTES = 1 << 20;

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

async function startOnce(options: VmOptions, sshPort: number, earlyMs: number): Promise<Vm | 'port-taken'> {
  const qemu = await requireTool(ARCH_FACTS[options.arch ?? 'amd64'].qemu);
  const argv = qemuArgs({ ...options, sshPort });
  const capture = new BoundedText(options.consoleLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES);
  const log = await ConsoleLogFile.open(options.consoleLog, capture);
  if (options.consolePrefix?.length) {
    capture.push(options.consolePrefix);
    log.write(options.consolePrefix);
  }
  const child: ResultPromise<{ stdin: 'pipe'; buffer: false; reject: false; cleanup: true }> = execa(qemu, argv, {
    stdin: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
  });
  const stderrCapture = new BoundedText(STDERR_LIMIT_BYTES);
  // The last MATCH_WINDOW characters of the console, decoded as a stream (a character split
  // across chunks survives) for the ready-marker wait.
  const decoder = new StringDecoder('utf8');
  let recent = '';
  let running = true;
  const listeners = new Set<(text: string) => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    capture.push(chunk);
    log.write(chunk);
    const text = recent + decoder.write(chunk);
    recent = text.slice(-MATCH_WINDOW);
    for (const l of listeners) l(text);
  });
  child.stderr.on('data', (chunk: Buffer) => stderrCapture.push(chunk));
  // A write after QEMU died fails with EPIPE: its exit is what the caller sees.
  child.stdin.on('error', () => {});
  const exited: Promise<VmExit> = child.then(async (r) => {
    running = false;
    for (const l of listeners) l(recent);
    // Exited means the log file is final: a caller may move it away (boot.ts keeps a hung boot's).
    await log.close();
    return { exitCode: r.exitCode, signal: r.signal, stderr: stderrCapture.text() };
  });
  const removeTeardown = onTeardown(
    async () => {
      if (!running) return;
      child.kill('SIGKILL');
      await exited;
    },
    { hardKill: () => void child.kill('SIGKILL') },
  );
  void exited.then(() => removeTeardown());

  // QEMU fails within milliseconds when it cannot bind the forwarded port.
  const early = await exitWithin(exited, earlyMs);
  if (early && PORT_TAKEN.test(early.stderr)) return 'port-taken';

  const vm: Vm = {
    sshPort,
    argv: [qemu, ...argv],
    console: () => capture.text(),
    consoleDropped: () => capture.droppedBytes,
    flushConsole: () => log.flush(),
    exited,
    isRunning: () => running,
    writeConsole: (text) => void child.stdin.write(text),
    waitForConsole(pattern, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new HarnessError('E_CONSOLE_TIMEOUT', 'timeout', `no '${String(pattern)}' on the console within ${Math.round(timeoutMs / 1000)} s`));
        }, safeDelayMs(timeoutMs));
        const check = (text: string) => {
          if (matches(text, pattern)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (!running) {
            clearTimeout(timer);
            listeners.delete(check);
            const stderr = stderrCapture.text();
            const said = stderr.trim().split('\n')[0];
            reject(
              new BootError(`QEMU exited before '${String(pattern)}' appeared on the console${said ? `: ${said}` : ''}`, {
                detail: `${stderr}\n${recent.slice(-4000)}`,
              }),
            );
          }
        };
        listeners.add(check);
        // Once against all that came before the wait, then against each chunk as it comes.
        check(capture.text());
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
export async function startVm(options: VmOptions): Promise<Vm> {
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const vm = await startOnce(options, await freePort(), options.earlyMs ?? 150);
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
