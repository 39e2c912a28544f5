// Live rows on a terminal, drawn by listr2: one task per kernel whose title is the row's text
// (rows.ts), held open until its kernel-end event or finish() settles it as passed or failed. listr2 does the
// spinners, redraws and cursor; we keep its hands off signals and process exit.
import { color, DefaultRenderer, Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { Emit } from '../events.js';
import { plainEmit } from './lines.js';
import { initialRows, reduceRows, settleRows, viewRow, type FinishedKernel, type Row, type RowView, type Rows } from './rows.js';

const TONES: Record<RowView['lines'][number]['tone'], (s: string) => string> = { plain: (s) => s, dim: color.dim, warn: color.yellow };

/** A row's text as a task title: listr2 indents the lines after the first under the icon. */
export function rowTitle(row: Row, now: number): string {
  return viewRow(row, now)
    .lines.map((l) => TONES[l.tone](l.text))
    .join('\n');
}

interface Settled {
  ok: boolean;
  title: string;
}

export interface TtyProgress {
  emit: Emit;
  finish(results?: readonly FinishedKernel[]): Promise<void>;
}

/** Refresh of the running stages' elapsed time; listr2 itself redraws every 100 ms. */
const TICK_MS = 250;

export function createTtyProgress(series: readonly string[], stream: NodeJS.WriteStream, clock: () => number = () => performance.now()): TtyProgress {
  let rows: Rows = initialRows(series);
  const wrappers = new Map<string, ListrTaskWrapper<unknown, typeof Renderer, typeof Renderer>>();
  const settlers = new Map<string, (s: Settled) => void>();
  const settled = new Map(rows.map((r) => [r.key, new Promise<Settled>((resolve) => settlers.set(r.key, resolve))]));
  let renderer: Renderer | undefined;

  class Renderer extends DefaultRenderer {
    // Draw whenever our stream is a terminal, even if stdout is not (listr2 checks stdout).
    static override nonTTY = true;
    private started = false;
    private ended = false;
    constructor(...args: ConstructorParameters<typeof DefaultRenderer>) {
      super(...args);
      // listr2 constructs the renderer itself: this is the one handle the run gets on it.
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      renderer = this;
    }
    override async render(): Promise<void> {
      await super.render();
      this.started = true;
    }
    /** Idempotent, and a no-op before the first draw: called by listr2, a signal and exit. */
    override end(): void {
      if (!this.started || this.ended) return;
      this.ended = true;
      super.end();
    }
  }

  const title = (key: string): string =>
    rowTitle(
      rows.find((r) => r.key === key)!,
      clock(),
    );
  const refresh = (key: string): void => {
    const wrapper = wrappers.get(key);
    if (wrapper) wrapper.title = title(key);
  };

  const listr = new Listr<unknown, typeof Renderer, typeof Renderer>(
    rows.map((row) => ({
      title: title(row.key),
      task: async (_ctx, task) => {
        wrappers.set(row.key, task);
        task.title = title(row.key);
        const s = await settled.get(row.key)!;
        task.title = s.title;
        if (!s.ok) throw new Error(s.title);
      },
    })),
    {
      concurrent: true,
      exitOnError: false,
      // listr2 would answer SIGINT with process.exit(127) once its tasks settle: the harness's
      // own handlers (lifecycle.ts) stop the VMs and exit 130.
      registerSignalListeners: false,
      renderer: Renderer,
      fallbackRenderer: Renderer,
      rendererOptions: {
        // Everything to `stream` (stderr: stdout is for the result table). While drawing, other
        // writes to it are held back and printed under the final frame, not through it.
        logger: new ListrLogger({ useIcons: true, processOutput: new ProcessOutput(stream, stream) }),
        formatOutput: 'truncate',
        collapseErrors: true,
        showErrorMessage: true,
      },
    },
  );
  const drawing = listr.run().catch(() => undefined);
  const ticker = setInterval(() => {
    for (const r of rows) if (!r.end && r.running.length > 0) refresh(r.key);
  }, TICK_MS);
  ticker.unref();

  let finishing: Promise<void> | undefined;
  const settle = (results: readonly FinishedKernel[], missing: string): Promise<void> => {
    finishing ??= (async () => {
      rows = settleRows(rows, results, clock(), missing);
      for (const row of rows) settlers.get(row.key)!({ ok: viewRow(row, clock()).status === 'passed', title: rowTitle(row, clock()) });
      try {
        await drawing;
      } finally {
        renderer?.end();
        clearInterval(ticker);
        for (const s of signals) process.removeListener(s, onSignal);
        process.removeListener('exit', onExit);
      }
    })();
    return finishing;
  };

  // On Ctrl-C, settle the rows as interrupted so that the screen is whole again before
  // lifecycle.ts's handler exits. Only beside another handler: a lone listener of ours would
  // keep Ctrl-C from ending the process at all.
  const onSignal = (): void => void settle([], 'interrupted');
  const signals = (['SIGINT', 'SIGTERM'] as const).filter((s) => process.listenerCount(s) > 0);
  for (const s of signals) process.on(s, onSignal);
  // Last resort if the process exits mid-draw: final frame, held-back output, cursor back.
  const onExit = (): void => renderer?.end();
  process.on('exit', onExit);

  const late = plainEmit(stream);
  return {
    emit(event) {
      if (finishing) return late(event); // the rows are final: anything later is a plain line
      const before = rows;
      rows = reduceRows(rows, event, clock());
      rows.forEach((r, i) => {
        if (r === before[i]) return;
        refresh(r.key);
        // A kernel whose run ended (kernel-end) shows its verdict now, not after the others.
        if (r.end && !before[i]!.end) settlers.get(r.key)!({ ok: viewRow(r, clock()).status === 'passed', title: rowTitle(r, clock()) });
      });
    },
    finish: (results = []) => settle(results, 'did not finish'),
  };
}
