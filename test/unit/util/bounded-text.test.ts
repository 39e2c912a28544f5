import { describe, expect, it } from 'vitest';
import { BoundedText, completeUtf8Length, DEFAULT_OUTPUT_LIMIT_BYTES, droppedLine, excerpt } from '../../../harness/src/util/bounded-text.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A capture of `limit` fed `chunks` in turn. */
function capture(limit: number, ...chunks: Array<string | Uint8Array>): BoundedText {
  const c = new BoundedText(limit);
  for (const chunk of chunks) c.push(typeof chunk === 'string' ? bytes(chunk) : chunk);
  return c;
}

/** A small seeded generator (mulberry32): the same chunkings on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `data` cut into chunks of random sizes up to `max`. */
function chunked(data: Buffer, max: number, next: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const n = 1 + Math.floor(next() * max);
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

describe('BoundedText', () => {
  it('keeps a stream within the limit whole, whatever its chunks', () => {
    const c = capture(64, 'hello ', 'wor', 'ld\n');
    expect(c.text()).toBe('hello world\n');
    expect(c.totalBytes).toBe(12);
    expect(c.droppedBytes).toBe(0);
    expect(capture(12, 'hello world\n').text()).toBe('hello world\n');
    expect(capture(16).text()).toBe('');
  });

  it('keeps a character split across chunks at every byte offset', () => {
    for (const ch of ['é', '€', '😀']) {
      const data = bytes(`a${ch}b`);
      for (let cut = 0; cut <= data.length; cut++) {
        expect(capture(64, data.subarray(0, cut), data.subarray(cut)).text()).toBe(`a${ch}b`);
      }
      // Every byte a chunk of its own.
      expect(capture(64, ...[...data].map((b) => Uint8Array.of(b))).text()).toBe(`a${ch}b`);
    }
  });

  it('keeps the first half of the limit and the last half, and counts the bytes between', () => {
    const whole = '0123456789abcdef';
    for (const chunks of [[whole], whole.split(''), ['0123', '456789abc', 'def'], ['0123456789abcde', 'f']]) {
      const c = capture(10, ...chunks);
      expect(c.text()).toBe(`01234\n${droppedLine(6)}\nbcdef`);
      expect(c.totalBytes).toBe(16);
      expect(c.droppedBytes).toBe(6);
    }
    // The line stands on its own line: no blank line when the head ends one.
    expect(capture(6, 'ab\ncdefgh\nxy').text()).toBe(`ab\n${droppedLine(6)}\n\nxy`);
    expect(droppedLine(6)).toBe('[kmod-harness: 6 bytes dropped]');
  });

  it('ends the head before a character it would cut, and starts the tail after one', () => {
    // 'a€bcd': the head's 3 bytes end inside '€', so the head is 'a' and '€' goes on to the tail,
    // which keeps only 'bcd'.
    let c = capture(6, 'a€bcd');
    expect(c.text()).toBe(`a\n${droppedLine(3)}\nbcd`);
    expect(c.droppedBytes).toBe(3);
    // The tail's 3 bytes are exactly '€'.
    c = capture(6, 'abc', 'd€');
    expect(c.text()).toBe(`abc\n${droppedLine(1)}\n€`);
    // The tail's 3 bytes start inside '€': its last two bytes count as dropped too.
    c = capture(6, 'abc€', 'd');
    expect(c.text()).toBe(`abc\n${droppedLine(3)}\nd`);
    expect(c.droppedBytes).toBe(3);
    expect(c.totalBytes).toBe(7);
  });

  it('never cuts a character, at any limit and chunking: head a prefix, tail a suffix, every byte counted', () => {
    // No newline in it: the head is what stands before the line's own separator.
    const text = 'ab€😀çd '.repeat(7) + '日本語テキスト😀😀x';
    const data = bytes(text);
    const next = random(7);
    for (let limit = 0; limit <= data.length + 2; limit++) {
      const c = capture(limit, ...chunked(data, 9, next));
      const out = c.text();
      expect(out).not.toContain('\uFFFD');
      expect(c.totalBytes).toBe(data.length);
      if (c.droppedBytes === 0) {
        expect(out).toBe(text);
        continue;
      }
      const line = `${droppedLine(c.droppedBytes)}\n`;
      const at = out.indexOf(line);
      expect(at).toBeGreaterThanOrEqual(0);
      const head = out.slice(0, at).replace(/\n$/, '');
      const tail = out.slice(at + line.length);
      expect(text.startsWith(head)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
      const kept = Buffer.byteLength(head) + Buffer.byteLength(tail);
      expect(kept + c.droppedBytes).toBe(data.length);
      // At most its half each; short of it only by the part of one character.
      const headCap = Math.floor(limit / 2);
      expect(Buffer.byteLength(head)).toBeLessThanOrEqual(headCap);
      expect(Buffer.byteLength(head)).toBeGreaterThan(headCap - 4);
      expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(limit - headCap);
      expect(Buffer.byteLength(tail)).toBeGreaterThan(limit - headCap - 4);
    }
  });

  it('gives what one push of the whole stream gives, for any chunking (the ring wraps)', () => {
    const next = random(42);
    const data = Buffer.from(Array.from({ length: 50_000 }, (_, i) => 0x20 + (i % 90)));
    const text = data.toString('latin1');
    for (const limit of [1, 2, 3, 100, 4097, 9000, 49_999, 50_000, 60_000]) {
      for (const max of [1, 7, 5000, 70_000]) {
        const c = capture(limit, ...chunked(data, max, next));
        const headCap = Math.floor(limit / 2);
        const expected =
          data.length <= limit
            ? text
            : `${text.slice(0, headCap)}${headCap ? '\n' : ''}${droppedLine(data.length - limit)}\n${text.slice(data.length - (limit - headCap))}`;
        expect(c.text()).toBe(expected);
        expect(c.droppedBytes).toBe(Math.max(0, data.length - limit));
      }
    }
  });

  it('keeps nothing at limit 0, and at limit 1 only a last byte that is a character', () => {
    expect(capture(0).text()).toBe('');
    const zero = capture(0, 'hello');
    expect(zero.text()).toBe(`${droppedLine(5)}\n`);
    expect(zero.droppedBytes).toBe(5);
    expect(capture(1, 'hello').text()).toBe(`${droppedLine(4)}\no`);
    // '€' whole does not fit in one byte: all three bytes dropped.
    const one = capture(1, 'ab€');
    expect(one.text()).toBe(`${droppedLine(5)}\n`);
    expect(one.droppedBytes).toBe(5);
    expect(() => new BoundedText(-1)).toThrow(RangeError);
    expect(() => new BoundedText(1.5)).toThrow(RangeError);
  });

  it('decodes bytes that are not UTF-8 as replacement characters, never fails', () => {
    expect(capture(64, Uint8Array.of(0x61, 0xff, 0x62), Uint8Array.of(0xe2, 0x82)).text()).toBe('a\uFFFDb\uFFFD');
    expect(capture(4, Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80)).text()).toBe(`\uFFFD\uFFFD\n${droppedLine(4)}\n`);
  });

  it('defaults to 16 MiB', () => {
    expect(new BoundedText().limitBytes).toBe(DEFAULT_OUTPUT_LIMIT_BYTES);
    expect(DEFAULT_OUTPUT_LIMIT_BYTES).toBe(16 * 1024 * 1024);
  });

  it('takes a 1 GiB stream at the cost of reading it, and holds only the limit', () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    chunk.write('€', 100);
    const c = new BoundedText(1024 * 1024);
    const start = performance.now();
    for (let i = 0; i < 16 * 1024; i++) c.push(chunk);
    const ms = performance.now() - start;
    expect(c.totalBytes).toBe(2 ** 30);
    expect(c.droppedBytes).toBe(2 ** 30 - 2 ** 20);
    const out = c.text();
    expect(Buffer.byteLength(out)).toBe(2 ** 20 + droppedLine(c.droppedBytes).length + 2);
    expect(out).not.toContain('\uFFFD');
    // A copy of each chunk: well above 100 MB/s even on a loaded host (a quadratic capture
    // would take hours). Typically ~5 GB/s.
    expect(ms).toBeLessThan(10_000);
  }, 30_000);
});

describe('completeUtf8Length', () => {
  it('stops before a character cut off at the end', () => {
    const euro = bytes('a€');
    expect([1, 2, 3, 4].map((end) => completeUtf8Length(euro, end))).toEqual([1, 1, 1, 4]);
    expect(completeUtf8Length(bytes('😀').subarray(0, 3))).toBe(0);
    expect(completeUtf8Length(bytes('abc'))).toBe(3);
    expect(completeUtf8Length(new Uint8Array(0))).toBe(0);
  });
});

describe('excerpt', () => {
  it('leaves a text within the limit alone', () => {
    expect(excerpt('short\n', 64)).toBe('short\n');
    expect(excerpt('€€', 6)).toBe('€€');
  });

  it('keeps head and tail of a longer one with the dropped line between', () => {
    expect(excerpt('0123456789abcdef', 10)).toBe(`01234\n${droppedLine(6)}\nbcdef`);
    const long = '€'.repeat(1000);
    const cut = excerpt(long, 100);
    expect(cut).not.toContain('\uFFFD');
    expect(cut).toBe(`${'€'.repeat(16)}\n${droppedLine(3000 - 96)}\n${'€'.repeat(16)}`);
  });
});
