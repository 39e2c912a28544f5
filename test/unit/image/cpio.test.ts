import { execa } from 'execa';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CpioFormatError, readCpio, writeCpio, type CpioEntry } from '../../../harness/src/image/cpio.js';
import { needs } from '../../support/host-tools.js';

const cpio = await needs(['cpio']);

interface NewcRecord {
  /** Offset of the record's header in the archive. */
  offset: number;
  magic: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  check: number;
  name: string;
  /** Offset of the file data (after the name and its padding). */
  dataOffset: number;
  data: Buffer;
}

const HEADER = 110;
const align4 = (n: number): number => (n + 3) & ~3;

/** A strict newc reader: every field is 8 hex digits, name and data are NUL-padded to 4 bytes. */
function readNewc(archive: Buffer): NewcRecord[] {
  const records: NewcRecord[] = [];
  let offset = 0;
  for (;;) {
    const head = archive.subarray(offset, offset + HEADER).toString('ascii');
    expect(head).toMatch(/^070701[0-9a-f]{104}$/);
    const field = (i: number): number => Number.parseInt(head.slice(6 + 8 * i, 14 + 8 * i), 16);
    const nameSize = field(11);
    const size = field(6);
    const nameEnd = offset + HEADER + nameSize;
    expect(archive[nameEnd - 1]).toBe(0);
    const dataOffset = align4(nameEnd);
    expect([...archive.subarray(nameEnd, dataOffset)].every((b) => b === 0)).toBe(true);
    const dataEnd = dataOffset + size;
    const next = align4(dataEnd);
    expect([...archive.subarray(dataEnd, next)].every((b) => b === 0)).toBe(true);
    const record: NewcRecord = {
      offset,
      magic: head.slice(0, 6),
      ino: field(0),
      mode: field(1),
      uid: field(2),
      gid: field(3),
      nlink: field(4),
      mtime: field(5),
      devMajor: field(7),
      devMinor: field(8),
      rdevMajor: field(9),
      rdevMinor: field(10),
      check: field(12),
      name: archive.subarray(offset + HEADER, nameEnd - 1).toString('utf8'),
      dataOffset,
      data: archive.subarray(dataOffset, dataEnd),
    };
    records.push(record);
    offset = next;
    if (record.name === 'TRAILER!!!') break;
  }
  expect(offset).toBe(archive.length);
  return records;
}

const entries: CpioEntry[] = [
  { type: 'dir', path: '/etc' },
  // 5 bytes of data: needs 3 bytes of padding.
  { type: 'file', path: '/etc/hostname', data: Buffer.from('kmh!\n'), mode: 0o640 },
  { type: 'symlink', path: '/lib', target: 'usr/lib' },
  { type: 'chardev', path: '/dev/console', major: 5, minor: 1 },
  { type: 'dir', path: 'usr', mode: 0o700 },
];

describe('writeCpio', () => {
  const archive = writeCpio(entries);
  let records: NewcRecord[] = [];
  beforeAll(() => {
    records = readNewc(archive);
  });

  it('writes one newc record per entry, in order, then the trailer', () => {
    expect(records.map((r) => r.name)).toEqual(['etc', 'etc/hostname', 'lib', 'dev/console', 'usr', 'TRAILER!!!']);
    expect(records.every((r) => r.magic === '070701')).toBe(true);
    expect(records.map((r) => r.ino)).toEqual([1, 2, 3, 4, 5, 0]);
  });

  it('makes every entry root-owned with a fixed mtime', () => {
    for (const r of records) expect([r.uid, r.gid, r.mtime, r.check]).toEqual([0, 0, 0, 0]);
  });

  it('sets file type and permission bits', () => {
    expect(records.map((r) => r.mode.toString(8))).toEqual(['40755', '100640', '120777', '20600', '40700', '0']);
    expect(records.map((r) => r.nlink)).toEqual([2, 1, 1, 1, 2, 1]);
  });

  it('stores file data and the symlink target (without NUL) as data', () => {
    expect(records[1]!.data.toString()).toBe('kmh!\n');
    expect(records[2]!.data.toString()).toBe('usr/lib');
    expect(records[0]!.data).toHaveLength(0);
  });

  it('puts the device number in rdev, not dev', () => {
    const console = records[3]!;
    expect([console.rdevMajor, console.rdevMinor]).toEqual([5, 1]);
    expect([console.devMajor, console.devMinor]).toEqual([0, 0]);
    expect(records.filter((r) => r !== console).every((r) => r.rdevMajor === 0 && r.rdevMinor === 0)).toBe(true);
  });

  it('aligns every header and every data block to 4 bytes', () => {
    for (const r of records) {
      expect(r.offset % 4).toBe(0);
      expect(r.dataOffset % 4).toBe(0);
    }
    // 'etc/hostname\0' is 13 bytes: header + name = 123, padded to 124.
    expect(records[1]!.dataOffset - records[1]!.offset).toBe(124);
    // 5 data bytes padded to 8.
    expect(records[2]!.offset - records[1]!.dataOffset).toBe(8);
  });

  it('counts the name size in bytes, not characters', () => {
    const one = writeCpio([{ type: 'file', path: '/été', data: Buffer.alloc(0) }]);
    // 'été' is 5 bytes in UTF-8, plus the NUL.
    expect(one.subarray(94, 102).toString('ascii')).toBe('00000006');
    expect(readNewc(one)[0]!.name).toBe('été');
  });

  it('is deterministic', () => {
    expect(writeCpio(entries).equals(archive)).toBe(true);
  });

  it.skipIf(cpio.skip)('is read back by GNU cpio', async () => {
    cpio.require();
    const { stdout } = await execa('cpio', ['-itv', '--quiet'], { input: archive, env: { LC_ALL: 'C', TZ: 'UTC' } });
    const lines = stdout.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^drwxr-xr-x +2 root +root +0 .* etc$/);
    expect(lines[1]).toMatch(/^-rw-r----- +1 root +root +5 .* etc\/hostname$/);
    expect(lines[2]).toMatch(/^lrwxrwxrwx +1 root +root +7 .* lib -> usr\/lib$/);
    expect(lines[3]).toMatch(/^crw------- +1 root +root +5, +1 .* dev\/console$/);
    expect(lines[4]).toMatch(/^drwx------ +2 root +root +0 .* usr$/);
  });
});

describe('readCpio', () => {
  it('reads back what writeCpio wrote, as absolute paths', () => {
    const records = readCpio(writeCpio(entries));
    expect(records.map((r) => [r.path, r.type, r.mode.toString(8)])).toEqual([
      ['/etc', 'dir', '755'],
      ['/etc/hostname', 'file', '640'],
      ['/lib', 'symlink', '777'],
      ['/dev/console', 'chardev', '600'],
      ['/usr', 'dir', '700'],
    ]);
    expect(records[1]!.data.toString()).toBe('kmh!\n');
    expect(records[2]!.data.toString()).toBe('usr/lib');
  });

  it('reads concatenated archives with NUL padding between them, as the kernel does', () => {
    const first = writeCpio([{ type: 'file', path: '/init', data: Buffer.from('one') }]);
    const second = writeCpio([{ type: 'file', path: '/init', data: Buffer.from('two') }]);
    const records = readCpio(Buffer.concat([first, Buffer.alloc(512), second]));
    expect(records.map((r) => `${r.path}=${r.data.toString()}`)).toEqual(['/init=one', '/init=two']);
  });

  it('rejects what is not a newc archive, saying where', () => {
    expect(() => readCpio(Buffer.from([0x1f, 0x8b, 8, 0]))).toThrow(CpioFormatError);
    expect(() => readCpio(Buffer.from([0x1f, 0x8b, 8, 0]))).toThrow(/at byte 0 \(compressed, or not a cpio archive\?\)/);
    const truncated = writeCpio([{ type: 'file', path: '/a', data: Buffer.alloc(100) }]).subarray(0, 150);
    expect(() => readCpio(truncated)).toThrow(/runs past the end/);
  });

  it.skipIf(cpio.skip)("reads GNU cpio's './'-prefixed names, padded to 512-byte blocks", async () => {
    cpio.require();
    const dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-cpio-'));
    try {
      await mkdir(path.join(dir, 'bin'));
      await writeFile(path.join(dir, 'bin/busybox'), 'bb');
      await symlink('busybox', path.join(dir, 'bin/sh'));
      const { stdout } = await execa('sh', ['-c', 'find . | LC_ALL=C sort | cpio --quiet -o -H newc'], { cwd: dir, encoding: 'buffer' });
      const archive = Buffer.from(stdout);
      expect(archive.length % 512).toBe(0);
      const records = readCpio(archive);
      expect(records.map((r) => `${r.type} ${r.path}`)).toEqual(['dir /bin', 'file /bin/busybox', 'symlink /bin/sh']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
