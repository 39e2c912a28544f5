import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bzImageRelease, bzImageVersionString } from '../../../harness/src/user-kernel/bzimage.js';
import { fakeBzImage } from './fake-tree.js';

describe('bzImageVersionString', () => {
  it("follows the setup header's kernel_version pointer (offset 0x20e, + 0x200)", () => {
    expect(bzImageVersionString(fakeBzImage('6.1.0-56-cloud-amd64'))).toBe('6.1.0-56-cloud-amd64 (builder@example) #1 SMP PREEMPT_DYNAMIC');
  });

  it('is undefined without the HdrS magic, with a null pointer, or a pointer past the end', () => {
    const image = fakeBzImage('6.1.0');
    const noMagic = Buffer.from(image);
    noMagic.write('XXXX', 0x202, 'latin1');
    expect(bzImageVersionString(noMagic)).toBeUndefined();
    const nullPointer = Buffer.from(image);
    nullPointer.writeUInt16LE(0, 0x20e);
    expect(bzImageVersionString(nullPointer)).toBeUndefined();
    const farPointer = Buffer.from(image);
    farPointer.writeUInt16LE(0xff00, 0x20e);
    expect(bzImageVersionString(farPointer)).toBeUndefined();
    expect(bzImageVersionString(Buffer.from('\x7fELF'))).toBeUndefined();
  });
});

describe('bzImageRelease', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-bzimage-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the first word of the version string: uname -r', async () => {
    await writeFile(path.join(dir, 'bzImage'), fakeBzImage('6.1.44-custom+'));
    expect(await bzImageRelease(path.join(dir, 'bzImage'))).toBe('6.1.44-custom+');
  });

  it('is undefined for a file that is not a bzImage, however short', async () => {
    await writeFile(path.join(dir, 'vmlinux'), '\x7fELF');
    expect(await bzImageRelease(path.join(dir, 'vmlinux'))).toBeUndefined();
  });
});
