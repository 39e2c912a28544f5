// Bounded capture of a byte stream as text (a test's stdout, the serial console): keeps the
// first and the last bytes up to a limit, counts what it dropped in between, and decodes UTF-8
// as a stream, so that a character split across chunks survives and a stream without end costs
// only the reading, never a string past V8's limit.
import { StringDecoder } from 'node:string_decoder';

/** What a capture keeps by default: 16 MiB, head and tail. */
export const DEFAULT_OUTPUT_LIMIT_BYTES = 16 * 2 ** 20;

/**
 * The largest limit a user may set (--output-limit, limits.outputMiB): text() of a capture must
 * stay well below V8's longest string (~2^29 UTF-16 units), and a run holds several captures.
 */
export const MAX_OUTPUT_LIMIT_MIB = 256;

/** A limit in MiB (config, flag) as whole bytes. */
export function outputLimitBytes(mib: number): number {
  return Math.round(mib * 2 ** 20);
}

/** The line that stands where bytes were dropped, between the head and the tail. */
export function droppedLine(bytes: number): string {
  return `[kmod-harness: ${bytes} bytes dropped]`;
}

/** head + the dropped line + tail, the line on a line of its own. */
function joinDropped(head: string, dropped: number, tail: string): string {
  return `${head}${head === '' || head.endsWith('\n') ? '' : '\n'}${droppedLine(dropped)}\n${tail}`;
}

const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80;

/** The bytes a UTF-8 sequence with this lead byte has (1 for ASCII and for bytes that lead nothing). */
const sequenceLength = (lead: number): number => (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1);

/**
 * How many of the first `end` bytes of `bytes` hold no cut-off character at their end: `end`, or
 * where the last character starts when its sequence runs past `end`.
 */
export function completeUtf8Length(bytes: Uint8Array, end: number = bytes.length): number {
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = bytes[i]!;
    if (isContinuation(b)) continue;
    return end - i < sequenceLength(b) ? i : end;
  }
  return end;
}

/**
 * A byte ring of at most `capacity` bytes that keeps the last bytes pushed. Its buffer grows by
 * doubling up to the capacity, so a short stream costs little and a long one O(chunk) per push.
 */
class ByteRing {
  private buf = Buffer.alloc(0);
  private start = 0;
  length = 0;
  /** Bytes pushed out of the front. */
  evicted = 0;

  constructor(readonly capacity: number) {}

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (n >= this.capacity) {
      // The chunk alone fills the ring: keep its end.
      this.evicted += this.length + n - this.capacity;
      if (this.buf.length < this.capacity) this.buf = Buffer.allocUnsafe(this.capacity);
      this.buf.set(chunk.subarray(n - this.capacity));
      this.start = 0;
      this.length = this.capacity;
      return;
    }
    if (this.length + n > this.buf.length && this.buf.length < this.capacity) {
      const grown = Buffer.allocUnsafe(Math.min(this.capacity, Math.max(this.length + n, 2 * this.buf.length, 4096)));
      let at = 0;
      for (const s of this.segments(0)) {
        grown.set(s, at);
        at += s.length;
      }
      this.buf = grown;
      this.start = 0;
    }
    const size = this.buf.length;
    const overflow = this.length + n - size;
    if (overflow > 0) {
      this.start = (this.start + overflow) % size;
      this.length -= overflow;
      this.evicted += overflow;
    }
    const at = (this.start + this.length) % size;
    const first = Math.min(n, size - at);
    this.buf.set(chunk.subarray(0, first), at);
    if (first < n) this.buf.set(chunk.subarray(first), 0);
    this.length += n;
  }

  /** The byte at logical offset `i` (0 is the oldest kept). */
  at(i: number): number {
    return this.buf[(this.start + i) % this.buf.length]!;
  }

  /** The kept bytes from logical offset `from` on, as at most two views into the ring. */
  segments(from: number): Buffer[] {
    if (from >= this.length) return [];
    const size = this.buf.length;
    const begin = (this.start + from) % size;
    const count = this.length - from;
    const first = Math.min(count, size - begin);
    const out = [this.buf.subarray(begin, begin + first)];
    if (first < count) out.push(this.buf.subarray(0, count - first));
    return out;
  }
}

/**
 * A capture of at most `limitBytes` bytes: the first half of the limit as the head, the last half
 * as the tail, and between them `[kmod-harness: N bytes dropped]` once the stream outgrew the
 * limit. Cut points fall between characters: a head that would end inside a character ends before
 * it (the character's bytes go on to the tail), and a tail that starts inside one starts after it
 * (those bytes count as dropped).
 */
export class BoundedText {
  readonly limitBytes: number;
  private readonly headCapacity: number;
  private head = Buffer.alloc(0);
  private headLength = 0;
  private headFull: boolean;
  private readonly tail: ByteRing;
  /** Bytes pushed so far. */
  totalBytes = 0;

  constructor(limitBytes: number = DEFAULT_OUTPUT_LIMIT_BYTES) {
    if (!Number.isInteger(limitBytes) || limitBytes < 0) throw new RangeError(`output limit must be a whole number of bytes >= 0, not ${limitBytes}`);
    this.limitBytes = limitBytes;
    this.headCapacity = Math.floor(limitBytes / 2);
    this.headFull = this.headCapacity === 0;
    this.tail = new ByteRing(limitBytes - this.headCapacity);
  }

  push(chunk: Uint8Array): void {
    this.totalBytes += chunk.length;
    if (!this.headFull) {
      const take = Math.min(chunk.length, this.headCapacity - this.headLength);
      this.appendHead(chunk.subarray(0, take));
      chunk = chunk.subarray(take);
      if (this.headLength === this.headCapacity) {
        this.headFull = true;
        // A character cut by the head's end goes whole to the tail.
        const cut = completeUtf8Length(this.head, this.headLength);
        if (cut < this.headLength) this.tail.push(this.head.subarray(cut, this.headLength));
        this.headLength = cut;
      }
    }
    this.tail.push(chunk);
  }

  private appendHead(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const need = this.headLength + bytes.length;
    if (need > this.head.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.headCapacity, Math.max(need, 2 * this.head.length, 4096)));
      grown.set(this.head.subarray(0, this.headLength));
      this.head = grown;
    }
    this.head.set(bytes, this.headLength);
    this.headLength = need;
  }

  /** Where the kept tail starts: past the rest of a character whose start was dropped. */
  private tailSkip(): number {
    if (this.tail.evicted === 0) return 0;
    let skip = 0;
    while (skip < 3 && skip < this.tail.length && isContinuation(this.tail.at(skip))) skip++;
    return skip;
  }

  /** Bytes of the stream that text() leaves out. */
  get droppedBytes(): number {
    return this.tail.evicted + this.tailSkip();
  }

  /** The stream as text: whole, or head, the dropped line and tail. */
  text(): string {
    const decoder = new StringDecoder('utf8');
    const head = decoder.write(this.head.subarray(0, this.headLength));
    const dropped = this.droppedBytes;
    if (dropped === 0) {
      // Head and tail are one run of bytes: one decoder, so a character across them survives.
      return (
        head +
        this.tail
          .segments(0)
          .map((s) => decoder.write(s))
          .join('') +
        decoder.end()
      );
    }
    const headText = head + decoder.end();
    const tailDecoder = new StringDecoder('utf8');
    const tail =
      this.tail
        .segments(this.tailSkip())
        .map((s) => tailDecoder.write(s))
        .join('') + tailDecoder.end();
    return joinDropped(headText, dropped, tail);
  }
}

/**
 * `text` cut to at most about `maxBytes` of UTF-8 (plus the dropped line) as a capture of that
 * limit would keep it: head and tail, the dropped line between. What reports embed of a log.
 */
export function excerpt(text: string, maxBytes: number): string {
  // A UTF-16 unit takes at most 3 bytes of UTF-8: a short text needs no encoding to know.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const capture = new BoundedText(maxBytes);
  capture.push(bytes);
  return capture.text();
}
