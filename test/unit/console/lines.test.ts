import { describe, expect, it } from 'vitest';
import type { HarnessEvent } from '../../../harness/src/events.js';
import { formatLine, initialPlainState, plainEmit, plainStep, type PlainState } from '../../../harness/src/console/lines.js';

/** Every line plainStep prints for `events`, in order. */
function printed(events: HarnessEvent[]): string[] {
  let state: PlainState = initialPlainState;
  const lines: string[] = [];
  for (const e of events) {
    const step = plainStep(state, e);
    state = step.state;
    lines.push(...step.lines);
  }
  return lines;
}

const progress = (done: number, total?: number, over: Partial<HarnessEvent> = {}): HarnessEvent =>
  ({ type: 'progress', stage: 'kernel', series: '6.1', kernel: '6.1', what: '6.1.0-37-amd64', done, ...(total ? { total } : {}), ...over }) as HarnessEvent;

describe('formatLine', () => {
  it('prints what printEvent printed, prefixed by the series the user named', () => {
    expect(formatLine({ type: 'stage-start', stage: 'boot', series: '6.1', kernel: '6.1.0-37-amd64' })).toBe('[6.1] boot...');
    expect(formatLine({ type: 'stage-end', stage: 'boot', series: '6.1', kernel: '6.1.0-37-amd64', ms: 9812, detail: 'console ready 9500 ms' })).toBe(
      '[6.1] boot done in 9812 ms (console ready 9500 ms)',
    );
    expect(formatLine({ type: 'stage-end', stage: 'kernel', series: '6.1', ms: 12 })).toBe('[6.1] kernel done in 12 ms');
    expect(formatLine({ type: 'info', series: '5.10', message: 'accelerator: tcg' })).toBe('[5.10] accelerator: tcg');
    expect(formatLine({ type: 'warn', series: '5.10', message: 'boot retried' })).toBe('[5.10] warning: boot retried');
  });

  it('falls back to the kernel, and to no prefix', () => {
    expect(formatLine({ type: 'info', kernel: '6.1.0-37-amd64', message: 'x' })).toBe('[6.1.0-37-amd64] x');
    expect(formatLine({ type: 'info', message: 'installing host packages: zstd' })).toBe('installing host packages: zstd');
  });

  it('shows download bytes in MB', () => {
    expect(formatLine(progress(38_200_000, 61_000_000))).toBe('[6.1] downloading 6.1.0-37-amd64: 38.2/61.0 MB (62%)');
    expect(formatLine(progress(38_200_000))).toBe('[6.1] downloading 6.1.0-37-amd64: 38.2 MB');
  });
});

describe('plainStep', () => {
  it('prints a download once per quarter of its total', () => {
    const total = 100_000_000;
    const events = [0, 5, 10, 24, 25, 26, 49, 50, 74, 76, 99, 100].map((p) => progress(p * 1_000_000, total));
    expect(printed(events)).toEqual([
      '[6.1] downloading 6.1.0-37-amd64: 25.0/100.0 MB (25%)',
      '[6.1] downloading 6.1.0-37-amd64: 50.0/100.0 MB (50%)',
      '[6.1] downloading 6.1.0-37-amd64: 76.0/100.0 MB (76%)',
      '[6.1] downloading 6.1.0-37-amd64: 100.0/100.0 MB (100%)',
    ]);
  });

  it('folds skipped quarters into one line and never goes back', () => {
    expect(printed([progress(80, 100), progress(30, 100), progress(90, 100), progress(100, 100)])).toEqual([
      '[6.1] downloading 6.1.0-37-amd64: 0.0/0.0 MB (80%)',
      '[6.1] downloading 6.1.0-37-amd64: 0.0/0.0 MB (100%)',
    ]);
  });

  it('counts quarters per download: per kernel and per file', () => {
    const lines = printed([progress(50, 100), progress(50, 100, { series: '5.10', kernel: '5.10' }), progress(50, 100, { what: 'other' })]);
    expect(lines).toHaveLength(3);
  });

  it('prints a download of unknown size once, when its stage ends', () => {
    const lines = printed([
      progress(1_000_000),
      progress(20_000_000),
      progress(61_000_000),
      { type: 'stage-end', stage: 'kernel', series: '6.1', kernel: '6.1', ms: 4000 },
    ]);
    expect(lines).toEqual(['[6.1] downloaded 6.1.0-37-amd64: 61.0 MB', '[6.1] kernel done in 4000 ms']);
  });

  it("does not print another kernel's download when a stage ends", () => {
    const lines = printed([progress(1_000_000), { type: 'stage-end', stage: 'kernel', series: '5.10', ms: 1 }]);
    expect(lines).toEqual(['[5.10] kernel done in 1 ms']);
  });

  it('leaves the state it was given untouched', () => {
    const step = plainStep(initialPlainState, progress(50, 100));
    expect(initialPlainState.size).toBe(0);
    expect(step.state.size).toBe(1);
  });
});

describe('plainEmit', () => {
  it('writes one line per printed step', () => {
    let out = '';
    const emit = plainEmit({ write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream);
    emit({ type: 'stage-start', stage: 'kernel', series: '6.1', kernel: '6.1' });
    emit(progress(10, 100));
    emit(progress(30, 100));
    expect(out).toBe('[6.1] kernel...\n[6.1] downloading 6.1.0-37-amd64: 0.0/0.0 MB (30%)\n');
  });
});

describe('formatLine for kernel-end', () => {
  it("prints the kernel's outcome and wall time", () => {
    expect(formatLine({ type: 'kernel-end', series: '7.2', kernel: '7.2.13+deb14-cloud-amd64', outcome: 'timeout', ms: 61_234 })).toBe(
      '[7.2] timeout in 61.2 s',
    );
  });
});

describe('kernel build progress', () => {
  const built = (done: number, total?: number): HarnessEvent => ({
    type: 'progress',
    stage: 'kernel',
    series: '6.1-debug',
    kernel: '6.1-debug',
    what: '6.1-debug',
    unit: 'objects',
    done,
    ...(total ? { total } : {}),
  });

  it("counts objects, of the last build's count when known", () => {
    expect(formatLine(built(120, 1195))).toBe('[6.1-debug] building 6.1-debug: 120/~1195 objects (10%)');
    expect(formatLine(built(120))).toBe('[6.1-debug] building 6.1-debug: 120 objects');
  });

  it('prints a line per tenth of a known total, per 1000 objects of an unknown one, and no "downloaded" line at the end', () => {
    const run = (events: HarnessEvent[]) => {
      let state = initialPlainState;
      const lines: string[] = [];
      for (const e of events) {
        const step = plainStep(state, e);
        state = step.state;
        lines.push(...step.lines);
      }
      return lines;
    };
    expect(run([1, 50, 119, 120, 130, 600, 1195].map((n) => built(n, 1195)))).toEqual([
      '[6.1-debug] building 6.1-debug: 120/~1195 objects (10%)',
      '[6.1-debug] building 6.1-debug: 600/~1195 objects (50%)',
      '[6.1-debug] building 6.1-debug: 1195/~1195 objects (100%)',
    ]);
    expect(run([...[1, 999, 1000, 1500, 2100].map((n) => built(n)), { type: 'stage-end', stage: 'kernel', series: '6.1-debug', ms: 5 }])).toEqual([
      '[6.1-debug] building 6.1-debug: 1000 objects',
      '[6.1-debug] building 6.1-debug: 2100 objects',
      '[6.1-debug] kernel done in 5 ms',
    ]);
  });
});
