// The one adapter over ssh2: connect with retries while the guest boots, verify the guest's
// host key, run commands with exit code and signal, and upload files over SFTP.
import ssh2, { type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';

const { Client } = ssh2;
import { BoundedText, DEFAULT_OUTPUT_LIMIT_BYTES } from '../util/bounded-text.js';
import { HarnessError, TimeoutError } from '../errors.js';
import { safeDelayMs } from '../util/timers.js';
import type { CommandRun } from '../job-raw.js';

/** One command's result: exit status or signal, and its output. */
export type ExecResult = CommandRun;

/** A guest command ran out of time; `partial` holds what it had printed. */
export class ExecTimeoutError extends TimeoutError {
  readonly partial: ExecResult;
  constructor(stage: string, seconds: number, partial: ExecResult) {
    super(stage, seconds);
    this.partial = partial;
  }
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Stage name used in the timeout error. */
  stage?: string;
  /** Bytes kept of each of stdout and stderr, head and tail (default DEFAULT_OUTPUT_LIMIT_BYTES, 16 MiB). */
  maxOutputBytes?: number;
}

export interface GuestConnection {
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  upload(localPath: string, remotePath: string, mode: number): Promise<void>;
  /** An interactive login shell on a pty wired to these streams; settles with its exit code when it ends. */
  shell(io: ShellIo, command?: string): Promise<number | null>;
  /** Settles when the connection drops (guest powered off or panicked). */
  readonly closed: Promise<void>;
  isOpen(): boolean;
  close(): void;
}

export interface ShellIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream & {
    rows?: number;
    columns?: number;
    on(event: 'resize', listener: () => void): unknown;
    off(event: 'resize', listener: () => void): unknown;
  };
  stderr: NodeJS.WritableStream;
  term?: string;
}

export interface ConnectOptions {
  port: number;
  privateKey: string;
  /** 'ssh-ed25519 <base64>' of the guest, checked on every connection. */
  hostKey: string;
  /** Give up after this long. */
  timeoutMs: number;
  /** Stop retrying early when this rejects (QEMU exited). */
  abort?: Promise<never>;
}

function hostKeyBlob(hostKey: string): Buffer {
  const blob = hostKey.trim().split(/\s+/)[1];
  if (!blob) throw new HarnessError('E_HOST_KEY', 'infra-error', `malformed host key '${hostKey}'`);
  return Buffer.from(blob, 'base64');
}

function connectOnce(config: ConnectConfig): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    // `on`, not `once`: a guest that accepts and drops the connection makes ssh2 emit a second
    // error, which would crash the process without a listener.
    client.on('error', (error) => {
      client.end();
      reject(error);
    });
    client.connect(config);
  });
}

function wrap(client: ssh2.Client): GuestConnection {
  let sftp: Promise<SFTPWrapper> | undefined;
  let open = true;
  const closed = new Promise<void>((resolve) =>
    client.once('close', () => {
      open = false;
      resolve();
    }),
  );
  // After the guest drops, ssh2 may emit late errors; they are reported through exec results.
  client.on('error', () => {});

  const exec = (command: string, options: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(new HarnessError('E_SSH_EXEC', 'infra-error', `cannot run '${command}' in the guest: ${error.message}`, { cause: error }));
        // Bounded and decoded as streams: a test that prints without end costs only the reading,
        // and a character split across two packets survives.
        const limit = options.maxOutputBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES;
        const stdout = new BoundedText(limit);
        const stderr = new BoundedText(limit);
        let exitCode: number | null = null;
        let signal: string | null = null;
        let timer: NodeJS.Timeout | undefined;
        if (options.timeoutMs) {
          timer = setTimeout(() => {
            channel.close();
            // What the command printed until then: why it hung is often in it.
            const partial = { exitCode: null, signal: null, stdout: stdout.text(), stderr: stderr.text() };
            reject(new ExecTimeoutError(options.stage ?? command, Math.round(options.timeoutMs! / 1000), partial));
          }, safeDelayMs(options.timeoutMs));
        }
        channel.on('data', (d: Buffer) => stdout.push(d));
        channel.stderr.on('data', (d: Buffer) => stderr.push(d));
        channel.on('exit', (code: number | null, sig?: string) => {
          exitCode = code ?? null;
          signal = sig ?? null;
        });
        channel.on('close', () => {
          clearTimeout(timer);
          const dropped = { stdout: stdout.droppedBytes, stderr: stderr.droppedBytes };
          resolve({ exitCode, signal, stdout: stdout.text(), stderr: stderr.text(), ...(dropped.stdout || dropped.stderr ? { dropped } : {}) });
        });
      });
    });

  const getSftp = (): Promise<SFTPWrapper> => {
    sftp ??= new Promise((resolve, reject) => client.sftp((error, s) => (error ? reject(error) : resolve(s))));
    return sftp;
  };

  const shell = (io: ShellIo, command?: string): Promise<number | null> =>
    new Promise((resolve, reject) => {
      const window = { term: io.term ?? 'xterm-256color', rows: io.stdout.rows ?? 24, cols: io.stdout.columns ?? 80 };
      const started = (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(new HarnessError('E_SSH_SHELL', 'infra-error', `cannot open a shell in the guest: ${error.message}`, { cause: error }));
        // Raw mode: keys (Ctrl-C included) go to the guest's shell, not to this process.
        const raw = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
        if (raw) io.stdin.setRawMode!(true);
        const resize = () => channel.setWindow(io.stdout.rows ?? 24, io.stdout.columns ?? 80, 0, 0);
        io.stdout.on('resize', resize);
        io.stdin.pipe(channel);
        channel.pipe(io.stdout, { end: false });
        channel.stderr.pipe(io.stderr, { end: false });
        let code: number | null = null;
        channel.on('exit', (c: number | null) => (code = c ?? null));
        channel.on('close', () => {
          io.stdin.unpipe(channel);
          io.stdout.off('resize', resize);
          if (raw) io.stdin.setRawMode!(false);
          io.stdin.pause();
          resolve(code);
        });
      };
      if (command === undefined) client.shell(window, started);
      else client.exec(command, { pty: window }, started);
    });

  return {
    exec,
    shell,
    async upload(localPath, remotePath, mode) {
      const s = await getSftp();
      await new Promise<void>((resolve, reject) =>
        s.fastPut(localPath, remotePath, { mode }, (error) =>
          error
            ? reject(new HarnessError('E_SSH_UPLOAD', 'infra-error', `upload of ${localPath} to the guest failed: ${error.message}`, { cause: error }))
            : resolve(),
        ),
      );
    },
    closed,
    isOpen: () => open,
    close: () => client.end(),
    _client: client,
  } as GuestConnection;
}

/**
 * `conn` whose exec calls take `defaults` for the options they leave unset: how the run's output
 * limit reaches every command of a job without each call site passing it.
 */
export function withExecDefaults(conn: GuestConnection, defaults: ExecOptions): GuestConnection {
  return { ...conn, exec: (command, options = {}) => conn.exec(command, { ...defaults, ...options }) };
}

/**
 * Connect to the guest, retrying while it boots: until the guest's sshd listens, QEMU's port
 * forward accepts and then resets the connection.
 */
export async function connectGuest(options: ConnectOptions): Promise<GuestConnection> {
  const expected = hostKeyBlob(options.hostKey);
  const deadline = Date.now() + options.timeoutMs;
  let aborted: Error | undefined;
  options.abort?.catch((e: unknown) => (aborted = e instanceof Error ? e : new Error(String(e))));
  let lastError: unknown;
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    if (aborted) throw aborted;
    try {
      const client = await connectOnce({
        host: '127.0.0.1',
        port: options.port,
        username: 'root',
        privateKey: options.privateKey,
        hostVerifier: (key: Buffer) => key.equals(expected),
        // The whole remaining time: on a loaded host a TCG guest's key exchange can take many
        // seconds, and a retry would start it over.
        readyTimeout: Math.max(1000, deadline - Date.now()),
        keepaliveInterval: 5000,
      });
      return wrap(client);
    } catch (error) {
      lastError = error;
      // A key ssh2 cannot read will not get better by retrying.
      if (error instanceof Error && /Cannot parse privateKey/.test(error.message)) {
        throw new HarnessError('E_RUN_KEY', 'infra-error', `the run's SSH key is unusable: ${error.message}`, { cause: error });
      }
      if (error instanceof Error && /host key|Host denied/i.test(error.message)) {
        throw new HarnessError('E_HOST_KEY', 'infra-error', 'the guest presented an unexpected SSH host key', {
          cause: error,
          fix: 'another process may be listening on the forwarded port; retry',
        });
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  if (aborted) throw aborted;
  const last = lastError instanceof Error ? lastError.message : String(lastError);
  throw new TimeoutError('ssh', Math.round(options.timeoutMs / 1000), {
    cause: lastError,
    detail: last,
    fix: `the guest printed its ready marker but SSH never answered (last error: ${last}); read the console log, or raise --boot-timeout on a loaded host`,
  });
}
