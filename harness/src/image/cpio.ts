// A writer for the kernel's initramfs format (cpio "newc"). Writing it ourselves lets an
// unprivileged user put device nodes and root-owned files in the archive, which `cpio -o`
// can only copy from a real file system.

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(fields: { ino: number; mode: number; nlink: number; size: number; rdevMajor: number; rdevMinor: number; nameSize: number }): string {
  return (
    '070701' +
    [
      fields.ino,
      fields.mode,
      0, // uid: root
      0, // gid: root
      fields.nlink,
      0, // mtime: fixed, so equal inputs give byte-equal archives
      fields.size,
      0, // devmajor
      0, // devminor
      fields.rdevMajor,
      fields.rdevMinor,
      fields.nameSize,
      0, // check
    ]
      .map(hex8)
      .join('')
  );
}

function record(ino: number, name: string, mode: number, data: Uint8Array, nlink: number, rdev = { major: 0, minor: 0 }): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const head = Buffer.from(header({ ino, mode, nlink, size: data.length, rdevMajor: rdev.major, rdevMinor: rdev.minor, nameSize: nameBytes.length }), 'ascii');
  return [head, nameBytes, pad4(head.length + nameBytes.length), Buffer.from(data.buffer, data.byteOffset, data.length), pad4(data.length)];
}

/** Serialise entries, in the order given, into one newc archive with its trailer. */
export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, '');
    switch (entry.type) {
      case 'dir':
        parts.push(...record(ino++, name, S_IFDIR | (entry.mode ?? 0o755), new Uint8Array(0), 2));
        break;
      case 'file':
        parts.push(...record(ino++, name, S_IFREG | (entry.mode ?? 0o644), entry.data, 1));
        break;
      case 'symlink':
        parts.push(...record(ino++, name, S_IFLNK | 0o777, Buffer.from(entry.target, 'utf8'), 1));
        break;
      case 'chardev':
        parts.push(...record(ino++, name, S_IFCHR | (entry.mode ?? 0o600), new Uint8Array(0), 1, { major: entry.major, minor: entry.minor }));
        break;
    }
  }
  parts.push(...record(0, 'TRAILER!!!', 0, new Uint8Array(0), 1));
  return Buffer.concat(parts);
}

/** One record of an existing archive, as the kernel's unpacker would see it. */
export interface CpioRecord {
  /** Absolute path: the archive's name with any leading './' or '/' made '/'. */
  path: string;
  type: 'dir' | 'file' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';
  mode: number;
  /** File contents or symlink target; a view into the archive, not a copy. */
  data: Buffer;
}

const TYPES: Record<number, CpioRecord['type']> = {
  0o040000: 'dir',
  0o100000: 'file',
  0o120000: 'symlink',
  0o020000: 'chardev',
  0o060000: 'blockdev',
  0o010000: 'fifo',
  0o140000: 'socket',
};

export class CpioFormatError extends Error {}

const HEADER_SIZE = 110;
const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Read a newc (070701) or newc-with-CRC (070702) archive, or several concatenated as the
 * kernel accepts them (NUL padding between them). Throws CpioFormatError on anything else.
 */
export function readCpio(archive: Buffer): CpioRecord[] {
  const records: CpioRecord[] = [];
  let offset = 0;
  while (offset < archive.length) {
    if (archive[offset] === 0) {
      offset++;
      continue;
    }
    const head = archive.toString('latin1', offset, offset + HEADER_SIZE);
    if (!/^07070[12][0-9a-fA-F]{104}$/.test(head))
      throw new CpioFormatError(`no newc cpio header at byte ${offset}${offset === 0 ? ' (compressed, or not a cpio archive?)' : ''}`);
    const field = (i: number): number => Number.parseInt(head.slice(6 + 8 * i, 14 + 8 * i), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = offset + HEADER_SIZE;
    const dataStart = align4(nameStart + nameSize);
    if (dataStart + size > archive.length) throw new CpioFormatError(`cpio record at byte ${offset} runs past the end of the archive`);
    const name = archive.toString('utf8', nameStart, nameStart + nameSize - 1);
    offset = align4(dataStart + size);
    if (name === 'TRAILER!!!') continue;
    const type = TYPES[mode & 0o170000];
    const normal = `/${name.replace(/^(\.\/|\/)+/, '')}`.replace(/\/+$/, '');
    if (!type || normal === '' || normal === '/.') continue;
    records.push({ path: normal, type, mode: mode & 0o7777, data: archive.subarray(dataStart, dataStart + size) });
  }
  return records;
}
