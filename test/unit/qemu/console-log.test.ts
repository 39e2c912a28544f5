import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BoundedText, droppedLine } from '../../../harness/src/util/bounded-text.js';
import { HarnessError } from '../../../harness/src/errors.js';
import { ConsoleLogFile } from '../../../harness/src/qemu/console-log.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function fresh(
  limit: number,
  rewriteMs?: number,
): Promise<{ file: string; capture: BoundedText; log: ConsoleLogFile; feed: (s: string | Buffer) => void }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kmh-console-'));
  dirs.push(dir);
  const file = path.join(dir, 'console.log');
  const capture = new BoundedText(limit);
  const log = await ConsoleLogFile.open(file, capture, rewriteMs === undefined ? {} : { rewriteMs });
  const feed = (s: string | Buffer) => {
    const chunk = typeof s === 'string' ? Buffer.from(s) : s;
    capture.push(chunk);
    log.write(chunk);
  };
  return { file, capture, log, feed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ConsoleLogFile', () => {
  it('is created empty at once, and within the limit holds every byte as it came', async () => {
    const { file, log, feed } = await fresh(1024);
    expect(await readFile(file, 'utf8')).toBe('');
    const euro = Buffer.from('€');
    feed('boot ');
    feed(euro.subarray(0, 1));
    await log.flush();
    // Byte for byte, even half a character: the file is a prefix of the console.
    expect(await readFile(file)).toEqual(Buffer.concat([Buffer.from('boot '), euro.subarray(0, 1)]));
    feed(euro.subarray(1));
    feed('\r\nready\r\n');
    await log.flush();
    expect(await readFile(file, 'utf8')).toBe('boot €\r\nready\r\n');
    await log.close();
    expect(await readFile(file, 'utf8')).toBe('boot €\r\nready\r\n');
  });

  it('past the limit becomes head, dropped line and tail, as the capture has them', async () => {
    const { file, capture, log, feed } = await fresh(100);
    feed('a'.repeat(80));
    await log.flush();
    expect(await readFile(file, 'utf8')).toBe('a'.repeat(80));
    feed('b'.repeat(70));
    await log.flush();
    expect(await readFile(file, 'utf8')).toBe(`${'a'.repeat(50)}\n${droppedLine(50)}\n${'b'.repeat(50)}`);
    for (let i = 0; i < 1000; i++) feed(`line ${i}\n`);
    await log.close();
    const text = await readFile(file, 'utf8');
    expect(text).toBe(capture.text());
    expect(text.endsWith('line 999\n')).toBe(true);
    expect((await stat(file)).size).toBe(100 + droppedLine(capture.droppedBytes).length + 2);
  });

  it('rewrites by itself while the console keeps coming, at most every rewriteMs', async () => {
    const { file, capture, log, feed } = await fresh(64, 40);
    feed('x'.repeat(200));
    // The first rewrite is at once (on the next turn of the queue).
    await sleep(20);
    expect(await readFile(file, 'utf8')).toBe(capture.text());
    feed('tail-1');
    const first = capture.text();
    // Not yet: the last rewrite was less than 40 ms ago.
    expect(await readFile(file, 'utf8')).not.toBe(first);
    await sleep(120);
    expect(await readFile(file, 'utf8')).toBe(first);
    expect(first.endsWith('tail-1')).toBe(true);
    await log.close();
  });

  it('writes nothing after close: not a late chunk, not a flush (the file may have been moved away)', async () => {
    const { file, log, feed } = await fresh(16);
    feed('x'.repeat(40));
    await log.close();
    const final = await readFile(file, 'utf8');
    await rename(file, `${file}.hung-boot-1`);
    feed('late');
    await log.flush();
    await log.close();
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
    expect(await readFile(`${file}.hung-boot-1`, 'utf8')).toBe(final);
  });

  it('says which file it cannot create; a write that fails later stops the writing, not the run', async () => {
    await expect(ConsoleLogFile.open('/nonexistent-kmh-dir/console.log', new BoundedText(10))).rejects.toThrow(HarnessError);
    await expect(ConsoleLogFile.open('/nonexistent-kmh-dir/console.log', new BoundedText(10))).rejects.toThrow(
      /cannot write the console log \/nonexistent-kmh-dir\/console.log/,
    );
    const { file, log, feed } = await fresh(16);
    // A plain file where the directory was: the rewrite past the limit cannot land.
    await rm(path.dirname(file), { recursive: true, force: true });
    await writeFile(path.dirname(file), 'not a directory');
    feed('y'.repeat(40));
    await log.flush();
    expect(log.failure).toBeInstanceOf(Error);
    feed('more');
    await log.close();
  });
});
