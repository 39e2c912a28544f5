// Reads and rewrites a dynamic executable's ELF interpreter (PT_INTERP), so a host binary can
// run on a root whose /lib is not the host's: its loader and libraries live under a private
// prefix. In place, within the bytes the old path had: nothing else in the file moves.

const PT_INTERP = 3;

interface Interp {
  offset: number;
  size: number;
}

function findInterp(elf: Buffer): Interp | undefined {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 40 > elf.length) throw new Error('truncated ELF program header table');
    if (elf.readUInt32LE(ph) !== PT_INTERP) continue;
    return { offset: Number(elf.readBigUInt64LE(ph + 8)), size: Number(elf.readBigUInt64LE(ph + 32)) };
  }
  return undefined;
}

/** The interpreter path ('/lib64/ld-linux-x86-64.so.2'), or undefined for a static binary. */
export function elfInterpreter(elf: Buffer): string | undefined {
  const interp = findInterp(elf);
  if (!interp) return undefined;
  const bytes = elf.subarray(interp.offset, interp.offset + interp.size);
  const end = bytes.indexOf(0);
  return bytes.toString('latin1', 0, end < 0 ? bytes.length : end);
}

/** A copy of `elf` whose interpreter is `interpreter`, which must fit in the old path's bytes. */
export function withInterpreter(elf: Buffer, interpreter: string): Buffer {
  const interp = findInterp(elf);
  if (!interp) throw new Error('the ELF file has no interpreter (a static binary?)');
  const bytes = Buffer.from(`${interpreter}\0`, 'latin1');
  if (bytes.length > interp.size) throw new Error(`interpreter path '${interpreter}' is longer than the ${interp.size - 1} bytes available`);
  const out = Buffer.from(elf);
  out.fill(0, interp.offset, interp.offset + interp.size);
  bytes.copy(out, interp.offset);
  return out;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

/**
 * The DT_NEEDED sonames of a dynamic 64-bit little-endian ELF file ([] for a static one): what
 * `ldd` says without running the file, so it works for a guest architecture the host cannot run.
 */
export function elfNeeded(elf: Buffer): string[] {
  findInterp(elf); // checks the header
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const loads: Array<{ vaddr: bigint; offset: bigint; size: bigint }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length) throw new Error('truncated ELF program header table');
    const type = elf.readUInt32LE(ph);
    if (type === PT_LOAD) loads.push({ offset: elf.readBigUInt64LE(ph + 8), vaddr: elf.readBigUInt64LE(ph + 16), size: elf.readBigUInt64LE(ph + 32) });
    if (type === PT_DYNAMIC) dynamic = { offset: Number(elf.readBigUInt64LE(ph + 8)), size: Number(elf.readBigUInt64LE(ph + 32)) };
  }
  if (!dynamic) return [];
  const needed: bigint[] = [];
  let strtab: bigint | undefined;
  for (let at = dynamic.offset; at + 16 <= Math.min(elf.length, dynamic.offset + dynamic.size); at += 16) {
    const tag = elf.readBigInt64LE(at);
    const value = elf.readBigUInt64LE(at + 8);
    if (tag === 0n) break;
    if (tag === DT_NEEDED) needed.push(value);
    if (tag === DT_STRTAB) strtab = value;
  }
  if (strtab === undefined) return [];
  // DT_STRTAB is an address: the PT_LOAD segment holding it gives its place in the file.
  const segment = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.size);
  if (!segment) throw new Error('DT_STRTAB lies in no loadable segment');
  const base = Number(strtab - segment.vaddr + segment.offset);
  return needed.map((n) => {
    const start = base + Number(n);
    const end = elf.indexOf(0, start);
    return elf.toString('latin1', start, end < 0 ? elf.length : end);
  });
}
