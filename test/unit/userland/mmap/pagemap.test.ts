// userland/mmap/pagemap.h, the decoding the seed test trusts to prove two mappings share a page:
// compiled with the host gcc and run on the host, no VM needed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
let facts: Map<string, { present: number; pfn: bigint }>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-pagemap-'));
  const bin = path.join(dir, 'decode');
  await execa('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-O2', '-o', bin, path.join(import.meta.dirname, 'pagemap-decode.c')]);
  const { stdout } = await execa(bin);
  facts = new Map(
    stdout.split('\n').map((line) => {
      const [name, present, pfn] = line.split(' ');
      return [name!, { present: Number(present), pfn: BigInt(`0x${pfn}`) }];
    }),
  );
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('pagemap decoding', () => {
  it('takes the pfn from bits 0-54 and presence from bit 63', () => {
    expect(facts.get('sample0')).toEqual({ present: 1, pfn: 0x12345n });
    expect(facts.get('sample3')).toEqual({ present: 1, pfn: (1n << 55n) - 1n });
  });

  it('does not mistake the soft-dirty and exclusive bits for pfn bits', () => {
    expect(facts.get('sample1')).toEqual({ present: 1, pfn: 1n });
  });

  it('reports a swapped entry as not present', () => {
    expect(facts.get('sample2')?.present).toBe(0);
  });

  it('reads a real entry: absent before the first touch, present after it', () => {
    expect(facts.get('untouched')?.present).toBe(0);
    expect(facts.get('touched')?.present).toBe(1);
  });

  it.skipIf(process.getuid?.() !== 0)('sees a non-zero frame number as root', () => {
    expect(facts.get('touched')!.pfn).not.toBe(0n);
  });
});
