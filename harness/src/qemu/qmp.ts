// A QMP client: QEMU's JSON control protocol over the unix socket of `-qmp` (qemu/args.ts
// controlArgs), as much of it as saving and restoring a snapshot needs. One command at a time,
// each with a time limit; events are kept (bounded) for whoever waits on one.
import net from 'node:net';
import { HarnessError } from '../errors.js';
import { safeDelayMs } from '../util/timers.js';

/** A QMP message is a few hundred bytes; a line longer than this is not QMP. */
const MAX_LINE_BYTES = 1 << 20;
/** Events kept for a later waitEvent: a migration emits a handful. */
const MAX_EVENTS = 256;

export class QmpError extends HarnessError {
  constructor(message: string, options: { detail?: string; cause?: unknown } = {}) {
    super('E_QMP', 'infra-error', message, { ...options, fix: 'QEMU refused or did not answer a control command: see its message' });
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

export interface Qmp {
  /** Run a command; resolves with its `return`, rejects with QEMU's `error` or after timeoutMs. */
  execute(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  /** Resolves with the first event (already received, or to come) that `match` accepts. */
  waitEvent(match: (e: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent>;
  close(): void;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/** Connect to QEMU's QMP socket (retrying while QEMU creates it) and leave the capabilities negotiation done. */
export async function connectQmp(socketPath: string, timeoutMs: number, exited?: Promise<unknown>): Promise<Qmp> {
  const deadline = performance.now() + timeoutMs;
  let gone = false;
  void exited?.then(() => (gone = true));
  for (;;) {
    try {
      return await open(socketPath, Math.max(100, deadline - performance.now()));
    } catch (error) {
      // The socket's own error, under the QmpError: not there yet, or nobody listening yet.
      const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (gone || performance.now() > deadline || (code !== 'ENOENT' && code !== 'ECONNREFUSED'))
        throw new QmpError(`could not reach QEMU's control socket ${socketPath}: ${(error as Error).message}`, { cause: error });
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function open(socketPath: string, timeoutMs: number): Promise<Qmp> {
  return new Promise<Qmp>((resolveOpen, rejectOpen) => {
    const socket = net.createConnection(socketPath);
    const events: QmpEvent[] = [];
    const waiters = new Set<(e: QmpEvent) => void>();
    const queue: Pending[] = [];
    let buffer = '';
    let greeted = false;
    let failed: Error | undefined;
    const greeting = setTimeout(() => {
      socket.destroy();
      fail(new QmpError(`QEMU sent no QMP greeting within ${Math.round(timeoutMs)} ms`));
    }, safeDelayMs(timeoutMs));
    const fail = (error: Error) => {
      // A failed attempt's greeting timer would keep the process alive for its whole length.
      clearTimeout(greeting);
      failed ??= error;
      for (const p of queue.splice(0)) p.reject(failed);
      if (!greeted) rejectOpen(failed);
    };
    socket.setEncoding('utf8');
    socket.on('error', (error) => fail(new QmpError(`QEMU's control socket failed: ${error.message}`, { cause: error })));
    socket.on('close', () => fail(new QmpError('QEMU closed its control socket')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE_BYTES) {
        socket.destroy();
        fail(new QmpError(`a QMP line longer than ${MAX_LINE_BYTES} bytes`));
        return;
      }
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) handle(JSON.parse(line) as Record<string, unknown>);
      }
    });
    const handle = (message: Record<string, unknown>) => {
      if ('QMP' in message) {
        greeted = true;
        clearTimeout(greeting);
        qmp.execute('qmp_capabilities', undefined, timeoutMs).then(
          () => resolveOpen(qmp),
          (error: Error) => rejectOpen(error),
        );
      } else if (typeof message.event === 'string') {
        const event = message as unknown as QmpEvent;
        events.push(event);
        if (events.length > MAX_EVENTS) events.shift();
        for (const w of waiters) w(event);
      } else if ('return' in message || 'error' in message) {
        const pending = queue.shift();
        if (!pending) return;
        if ('error' in message) {
          const e = message.error as { class?: string; desc?: string };
          pending.reject(new QmpError(`QEMU: ${e.desc ?? 'error'} (${e.class ?? 'GenericError'})`));
        } else pending.resolve(message.return);
      }
    };
    const qmp: Qmp = {
      execute(command, args, limitMs = 10_000) {
        if (failed) return Promise.reject(failed);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            // Replies come in order: a late one would answer the next command. The connection is spent.
            socket.destroy();
            fail(new QmpError(`QEMU did not answer '${command}' within ${Math.round(limitMs)} ms`));
          }, safeDelayMs(limitMs));
          queue.push({
            resolve: (v) => {
              clearTimeout(timer);
              resolve(v);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
        });
      },
      waitEvent(match, limitMs) {
        const seen = events.find(match);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new QmpError(`no matching QMP event within ${Math.round(limitMs)} ms`));
          }, safeDelayMs(limitMs));
          const check = (e: QmpEvent) => {
            if (!match(e)) return;
            clearTimeout(timer);
            waiters.delete(check);
            resolve(e);
          };
          waiters.add(check);
        });
      },
      close() {
        socket.destroy();
      },
    };
  });
}
