import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { elfInterpreter, elfNeeded, withInterpreter } from '../../../harness/src/image/elf.js';
import { findTool } from '../../../harness/src/host/tools.js';
import { needs } from '../../support/host-tools.js';

const dropbear = await findTool('dropbear');
const tools = await needs(['dropbear', 'readelf']);
const cross = await needs(['aarch64-linux-gnu-gcc', 'readelf']);

/** A minimal ELF64 header with a LOAD and an INTERP program header, and the interpreter path. */
function tinyElf(interpreter: string | undefined): Buffer {
  const elf = Buffer.alloc(64 + 2 * 56 + 32);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // ELFCLASS64
  elf[5] = 1; // little-endian
  elf.writeBigUInt64LE(64n, 0x20); // e_phoff
  elf.writeUInt16LE(56, 0x36); // e_phentsize
  elf.writeUInt16LE(interpreter ? 2 : 1, 0x38); // e_phnum
  elf.writeUInt32LE(1, 64); // PT_LOAD
  if (interpreter) {
    elf.writeUInt32LE(3, 120); // PT_INTERP
    elf.writeBigUInt64LE(176n, 128); // p_offset
    elf.writeBigUInt64LE(BigInt(interpreter.length + 1), 152); // p_filesz
    elf.write(`${interpreter}\0`, 176, 'latin1');
  }
  return elf;
}

describe('elfInterpreter / withInterpreter', () => {
  it('reads PT_INTERP and rewrites it in place, NUL-padded, leaving everything else', () => {
    const elf = tinyElf('/lib64/ld-linux-x86-64.so.2');
    expect(elfInterpreter(elf)).toBe('/lib64/ld-linux-x86-64.so.2');
    const patched = withInterpreter(elf, '/kmod-harness/lib/ld.so');
    expect(elfInterpreter(patched)).toBe('/kmod-harness/lib/ld.so');
    expect(patched).toHaveLength(elf.length);
    expect(patched.subarray(176 + 23, 176 + 28).every((b) => b === 0)).toBe(true);
    expect(patched.subarray(0, 176).equals(elf.subarray(0, 176))).toBe(true);
    // The input is not touched.
    expect(elfInterpreter(elf)).toBe('/lib64/ld-linux-x86-64.so.2');
  });

  it('refuses a path longer than the old one, a static binary, and a non-ELF file', () => {
    expect(() => withInterpreter(tinyElf('/lib/ld.so'), '/kmod-harness/lib/ld.so')).toThrow(/longer than the 10 bytes/);
    expect(elfInterpreter(tinyElf(undefined))).toBeUndefined();
    expect(() => withInterpreter(tinyElf(undefined), '/x')).toThrow(/no interpreter/);
    expect(() => elfInterpreter(Buffer.from('#!/bin/sh\n'.padEnd(64)))).toThrow(/not an ELF/);
  });

  it.skipIf(tools.skip)("patches the host's dropbear so readelf sees the new interpreter", async () => {
    tools.require();
    const elf = await readFile(dropbear!);
    expect(elfInterpreter(elf)).toBe('/lib64/ld-linux-x86-64.so.2');
    const dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-elf-'));
    try {
      await writeFile(path.join(dir, 'dropbear'), withInterpreter(elf, '/kmod-harness/lib/ld.so'));
      const { stdout } = await execa('readelf', ['-l', path.join(dir, 'dropbear')]);
      expect(stdout).toContain('[Requesting program interpreter: /kmod-harness/lib/ld.so]');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The NEEDED entries readelf -d lists. */
async function readelfNeeded(file: string): Promise<string[]> {
  const { stdout } = await execa('readelf', ['-dW', file]);
  return [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

describe('elfNeeded', () => {
  it('is empty for a static binary (no PT_DYNAMIC)', () => {
    expect(elfNeeded(tinyElf(undefined))).toEqual([]);
    expect(elfNeeded(tinyElf('/lib/ld.so'))).toEqual([]);
  });

  it.skipIf(tools.skip)("reads the host's dropbear's libraries as readelf lists them", async () => {
    tools.require();
    const needed = elfNeeded(await readFile(dropbear!));
    expect(needed).toEqual(await readelfNeeded(dropbear!));
    expect(needed).toContain('libc.so.6');
  });

  it.skipIf(cross.skip)('reads an arm64 program the host cannot run, built by the cross gcc', async () => {
    cross.require();
    const dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-elf-'));
    try {
      await writeFile(path.join(dir, 'm.c'), '#include <math.h>\n#include <stdio.h>\nint main(int c, char **v) { printf("%f", sqrt(c)); return v[0][0]; }\n');
      await execa('aarch64-linux-gnu-gcc', ['-O2', '-o', path.join(dir, 'm'), path.join(dir, 'm.c'), '-lm']);
      const elf = await readFile(path.join(dir, 'm'));
      expect(elfInterpreter(elf)).toBe('/lib/ld-linux-aarch64.so.1');
      expect(elfNeeded(elf)).toEqual(await readelfNeeded(path.join(dir, 'm')));
      expect(elfNeeded(elf)).toEqual(expect.arrayContaining(['libm.so.6', 'libc.so.6']));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
