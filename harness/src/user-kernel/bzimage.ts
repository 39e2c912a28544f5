// The kernel release a bzImage was built as, from its x86 boot setup header: the image says
// what it is, so a Buildroot or local kernel needs no name or version from the user.
import { open } from 'node:fs/promises';

// Documentation/arch/x86/boot.rst: "HdrS" at 0x202; kernel_version at 0x20e is a pointer to
// a NUL-terminated string, minus 0x200. Both the pointer and the string lie in the setup code.
const MAGIC_OFFSET = 0x202;
const VERSION_POINTER = 0x20e;
const SETUP_BASE = 0x200;
const HEAD_BYTES = 0x10000 + SETUP_BASE + 256;

/** The whole version string ('6.1.0-56-cloud-amd64 (debian-kernel@...) #1 SMP ...'), or undefined. */
export function bzImageVersionString(head: Buffer): string | undefined {
  if (head.length < VERSION_POINTER + 2 || head.toString('latin1', MAGIC_OFFSET, MAGIC_OFFSET + 4) !== 'HdrS') return undefined;
  const pointer = head.readUInt16LE(VERSION_POINTER);
  if (pointer === 0) return undefined;
  const start = pointer + SETUP_BASE;
  const end = head.indexOf(0, start);
  if (start >= head.length || end < 0) return undefined;
  const text = head.toString('latin1', start, end);
  return /^\S/.test(text) ? text : undefined;
}

/** uname -r of the kernel in `file`; undefined if it is not a bzImage with a version string. */
export async function bzImageRelease(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
    return bzImageVersionString(head.subarray(0, bytesRead))?.split(/\s/)[0];
  } finally {
    await handle.close();
  }
}
