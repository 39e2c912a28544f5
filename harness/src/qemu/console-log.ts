// The serial console's log file (SessionInfo.consoleLog), written by the harness from QEMU's
// stdout instead of by QEMU itself: QEMU's `-chardev ...,logfile=` grows without bound, and a
// guest that floods its console would fill the disk and make every reader load it whole.
//
// The file stays truthful for readers in other processes (vitest workers read it while the VM
// runs, e.g. after a guest panic) and bounded by the capture's limit:
// - While the console is within the limit, each chunk is appended as it arrives: the file is the
//   console so far, byte for byte, as QEMU's logfile was.
// - Once the console outgrows the limit, the file becomes the capture's text(): the head, the
//   `[kmod-harness: N bytes dropped]` line and the tail. The tail moves with every chunk, so
//   appending cannot keep that shape; instead the file is rewritten whole from the capture (to a
//   temporary sibling, then renamed over it: a reader sees the old or the new file, never half of
//   one) at most once per `rewriteMs` while the console is written, on flush(), and on close().
// So at any moment the file is the console so far, or its head and tail no older than about a
// second; after close() it is exactly what the capture kept. Disk and memory stay at the limit.
import { open, type FileHandle } from 'node:fs/promises';
import type { BoundedText } from '../util/bounded-text.js';
import { HarnessError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';

/** How often, at most, a console past its limit is rewritten while the guest keeps writing. */
export const CONSOLE_REWRITE_MS = 1000;

export class ConsoleLogFile {
  /** The append handle while the file is the whole console; undefined once it is rewritten. */
  private handle: FileHandle | undefined;
  private queue: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRewriteAt = 0;
  /** capture.totalBytes when the file was last rewritten: nothing new, nothing to rewrite. */
  private rewrittenTotal = -1;
  private closing: Promise<void> | undefined;
  private closed = false;
  /**
   * The first write that failed (disk full, file removed); writing stops there. The in-memory
   * console (the capture) is unaffected: it is what the CLI judges and reports.
   */
  failure: Error | undefined;

  private constructor(
    readonly file: string,
    private readonly capture: BoundedText,
    handle: FileHandle,
    private readonly rewriteMs: number,
  ) {
    this.handle = handle;
  }

  /** Create (or empty) `file` for the console `capture` receives. */
  static async open(file: string, capture: BoundedText, options: { rewriteMs?: number } = {}): Promise<ConsoleLogFile> {
    try {
      return new ConsoleLogFile(file, capture, await open(file, 'w'), options.rewriteMs ?? CONSOLE_REWRITE_MS);
    } catch (error) {
      throw new HarnessError('E_CONSOLE_LOG', 'infra-error', `cannot write the console log ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Record `chunk`, which the capture has just been fed. */
  write(chunk: Uint8Array): void {
    if (this.closing || this.failure) return;
    if (this.handle && this.capture.droppedBytes === 0) {
      const handle = this.handle;
      // Stream chunks are never reused by their stream: no copy needed while the write waits.
      this.enqueue(async () => void (await handle.write(chunk)));
      return;
    }
    if (this.handle) {
      const handle = this.handle;
      this.handle = undefined;
      this.enqueue(() => handle.close());
    }
    this.schedule();
  }

  /** The file as the capture is now (for a reader about to read it). */
  flush(): Promise<void> {
    // After close() the file may have been moved away (a hung boot's log): never write it again.
    if (this.closed) return this.queue;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.handle) this.enqueue(() => this.rewrite());
    return this.queue;
  }

  /** Flush and stop writing; later chunks are not recorded. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      const flushed = this.flush();
      this.closed = true;
      this.closing = flushed.then(async () => {
        const handle = this.handle;
        this.handle = undefined;
        await handle?.close().catch(() => {});
      });
    }
    return this.closing;
  }

  private schedule(): void {
    if (this.timer) return;
    const delay = Math.max(0, this.lastRewriteAt + this.rewriteMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.enqueue(() => this.rewrite());
    }, delay);
    // A pending rewrite must not keep the process alive: close() does the last one.
    this.timer.unref();
  }

  private async rewrite(): Promise<void> {
    if (this.capture.totalBytes === this.rewrittenTotal) return;
    this.lastRewriteAt = Date.now();
    this.rewrittenTotal = this.capture.totalBytes;
    await writeFileAtomic(this.file, this.capture.text());
  }

  /** Run `op` after every earlier file operation; the first failure stops the rest. */
  private enqueue(op: () => Promise<void>): void {
    this.queue = this.queue
      .then(() => (this.failure ? undefined : op()))
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      });
  }
}
