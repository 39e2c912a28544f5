import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createTtyProgress } from '../../../harness/src/console/tty.js';

// eslint-disable-next-line no-control-regex
const plain = (s: string): string => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

/** A terminal-sized stream that keeps what is written (not a TTY: no cursor hiding via stderr). */
function screen(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  Object.assign(w, { columns: 160, rows: 40 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

const noop = (): void => {};
afterEach(() => {
  process.removeListener('SIGINT', noop);
});

describe('createTtyProgress', () => {
  it('draws a row per kernel while it runs and leaves the settled rows on screen', async () => {
    const { stream, text } = screen();
    let now = 0;
    const p = createTtyProgress(['6.1', '5.10'], stream, () => now);
    p.emit({ type: 'stage-start', stage: 'kernel', series: '6.1', kernel: '6.1' });
    p.emit({ type: 'progress', stage: 'kernel', series: '6.1', kernel: '6.1', what: '6.1.0-37-amd64', done: 38_200_000, total: 61_000_000 });
    now = 1500;
    await sleep(300); // listr2 redraws every 100 ms
    const live = plain(text());
    expect(live).toContain('6.1  kernel 1.5 s');
    expect(live).toContain('downloading 38.2/61.0 MB (6.1.0-37-amd64)');
    expect(live).toContain('5.10  waiting');

    p.emit({ type: 'stage-end', stage: 'kernel', series: '6.1', kernel: '6.1', ms: 4000 });
    p.emit({ type: 'stage-start', stage: 'boot', series: '5.10', kernel: '5.10.0-35-amd64' });
    p.emit({ type: 'warn', series: '5.10', kernel: '5.10.0-35-amd64', message: 'boot retried' });
    now = 20_000;
    await p.finish([
      { series: '6.1', kernel: '6.1.0-37-amd64', outcome: 'pass' },
      { series: '5.10', kernel: '5.10.0-35-amd64', outcome: 'boot-failed' },
    ]);
    // The final frame: the last thing drawn before the cursor comes back.
    const final = plain(text().slice(text().lastIndexOf('\u001b[2K')));
    expect(final).toMatch(/✔ 6\.1 \(6\.1\.0-37-amd64\) {2}pass in 20\.0 s\n {2}done: kernel 4000 ms/);
    expect(final).toMatch(/✖ 5\.10 \(5\.10\.0-35-amd64\) {2}boot-failed in 18\.5 s\n {2}warning: boot retried/);
    expect(final).not.toContain('host');
  });

  it('holds back other writes to the stream until the rows are final, and prints later events as lines', async () => {
    const { stream, text } = screen();
    const p = createTtyProgress(['6.1'], stream, () => 0);
    await sleep(50);
    stream.write('stray line\n');
    expect(text()).not.toContain('stray line');
    await p.finish([{ series: '6.1', kernel: '6.1', outcome: 'pass' }]);
    expect(plain(text())).toMatch(/✔ 6\.1 {2}pass\n[\s\S]*stray line/);
    p.emit({ type: 'info', series: '6.1', message: 'after' });
    expect(text().endsWith('[6.1] after\n')).toBe(true);
    await p.finish(); // idempotent
  });

  it('leaves SIGINT to the harness: no listr2 handler; on a signal, settles the rows as interrupted', async () => {
    process.on('SIGINT', noop); // lifecycle.ts's handler, which exits 130
    const before = process.listenerCount('SIGINT');
    const exitBefore = process.listenerCount('exit');
    const { stream, text } = screen();
    const p = createTtyProgress(['6.1'], stream, () => 0);
    expect(process.listenerCount('SIGINT')).toBe(before + 1); // ours, not listr2's too
    p.emit({ type: 'stage-start', stage: 'boot', series: '6.1', kernel: '6.1.0-37-amd64' });
    process.emit('SIGINT');
    await p.finish();
    expect(plain(text())).toMatch(/✖ 6\.1 \(6\.1\.0-37-amd64\) {2}interrupted in 0\.0 s, during boot/);
    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(process.listenerCount('exit')).toBe(exitBefore);
  });

  it('adds no signal listener when nothing else handles the signal (Ctrl-C must still end the process)', async () => {
    const before = process.listenerCount('SIGTERM');
    if (before > 0) return; // some other handler is installed in this worker: nothing to check
    const { stream } = screen();
    const p = createTtyProgress(['6.1'], stream, () => 0);
    expect(process.listenerCount('SIGTERM')).toBe(0);
    await p.finish();
  });
});
