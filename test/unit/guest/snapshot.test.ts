// What a snapshot is keyed by, where its RAM lives while it is made, and the line of secrets
// a restored guest reads: pure parts of guest/snapshot.ts.
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discardSnapshot,
  fileIdentity,
  findSnapshot,
  freshSecrets,
  hostCpuIdentity,
  META_FILE,
  ramDirFor,
  secretsLine,
  snapshotArgv,
  snapshotKey,
  snapshotPaths,
  SNAPSHOTS_AREA,
  sweepSnapshots,
  touchSnapshot,
} from '../../../harness/src/guest/snapshot.js';
import { CONSOLE_KEY, kernelCmdline, qemuArgs } from '../../../harness/src/qemu/args.js';

const base = {
  kernel: '/cache/kernels/6.1/vmlinuz',
  initrd: '/cache/images/x/initramfs.cpio',
  append: kernelCmdline({ publicKey: CONSOLE_KEY }),
  accel: 'tcg' as 'tcg' | 'kvm',
  memoryMiB: 512,
  cpus: 2,
};
const key = (o: Partial<typeof base> & { files?: string[]; hostCpu?: string } = {}) => {
  const { files, hostCpu, ...rest } = o;
  return snapshotKey('6.1.0-57-cloud-amd64', {
    argv: snapshotArgv({ ...base, ...rest }),
    files: files ?? ['q:1', 'k:1', 'i:1'],
    ...(hostCpu ? { hostCpu } : {}),
  });
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmh-snapshot-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('snapshotArgv and snapshotKey', () => {
  it('leave out what differs per run: the SSH port, the RAM file, the QMP socket, -incoming', () => {
    const one = qemuArgs({ ...base, sshPort: 40001, ramFile: { path: '/dev/shm/a.ram', share: true }, qmpSocket: '/tmp/a/qmp.sock' });
    const two = qemuArgs({ ...base, sshPort: 40002, ramFile: { path: '/cache/snapshots/k/ram', share: false }, qmpSocket: '/tmp/b/qmp.sock', incoming: true });
    expect(one).not.toEqual(two);
    expect(snapshotArgv(base)).toEqual(snapshotArgv({ ...base }));
    expect(snapshotArgv(base).join(' ')).not.toMatch(/40001|a\.ram|qmp\.sock|incoming/);
  });

  it('is stable, names the kernel, and changes with every input of the boot', () => {
    expect(key()).toBe(key());
    expect(key()).toMatch(/^6\.1\.0-57-cloud-amd64-[0-9a-f]{24}$/);
    const others = [
      key({ append: [...base.append, 'nokaslr'] }),
      key({ memoryMiB: 1024 }),
      key({ cpus: 1 }),
      key({ accel: 'kvm' }),
      key({ kernel: '/other/vmlinuz' }),
      key({ files: ['q:2', 'k:1', 'i:1'] }),
      key({ files: ['q:1', 'k:1', 'i:2'] }),
      key({ hostCpu: 'abc' }),
    ];
    expect(new Set([key(), ...others]).size).toBe(others.length + 1);
  });

  it('a label that is no file name is made one', () => {
    expect(snapshotKey('local:/a b', { argv: [], files: [] })).toMatch(/^local__a_b-[0-9a-f]{24}$/);
  });
});

describe('fileIdentity', () => {
  it('changes when the file is rewritten, even with the same size', async () => {
    const file = path.join(dir, 'vmlinuz');
    await writeFile(file, 'aaaa');
    const first = await fileIdentity(file);
    await writeFile(file, 'bbbb');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect(await fileIdentity(file)).not.toBe(first);
  });

  it('hostCpuIdentity is a digest of the host CPU', async () => {
    expect(await hostCpuIdentity()).toMatch(/^[0-9a-f]{16}$/);
    expect(await hostCpuIdentity()).toBe(await hostCpuIdentity());
  });
});

describe('ramDirFor', () => {
  it('takes /dev/shm when the whole guest RAM fits there, else the dir beside the entry', async () => {
    expect(await ramDirFor(16, dir)).toBe('/dev/shm');
    expect(await ramDirFor(1 << 30, dir)).toBe(dir);
    expect(await ramDirFor(16, dir, path.join(dir, 'no-such-shm'))).toBe(dir);
  });
});

describe('findSnapshot and discardSnapshot', () => {
  it('find only a published entry (with its meta), and discard removes it whole', async () => {
    const entry = path.join(dir, SNAPSHOTS_AREA, 'k-1');
    await rm(entry, { recursive: true, force: true });
    expect(await findSnapshot(dir, 'k-1')).toBeUndefined();
    await import('node:fs/promises').then((fs) => fs.mkdir(entry, { recursive: true }));
    expect(await findSnapshot(dir, 'k-1')).toBeUndefined();
    await writeFile(path.join(entry, META_FILE), '{}');
    expect(await findSnapshot(dir, 'k-1')).toEqual(snapshotPaths(entry, 'k-1'));
    await discardSnapshot(snapshotPaths(entry, 'k-1'));
    expect(await findSnapshot(dir, 'k-1')).toBeUndefined();
    const left = await import('node:fs/promises').then((fs) => fs.readdir(path.join(dir, SNAPSHOTS_AREA)));
    expect(left).toEqual([]);
  });
});

describe('sweepSnapshots', () => {
  it('removes snapshots whose kernel is gone, then the least recently used past the limit, never the new one', async () => {
    const root = path.join(dir, 'sweep');
    const area = path.join(root, SNAPSHOTS_AREA);
    const { mkdir, readdir } = await import('node:fs/promises');
    const file = path.join(dir, 'there');
    await writeFile(file, '');
    const make = async (name: string, kernel: string, usedSecondsAgo: number) => {
      await mkdir(path.join(area, name), { recursive: true });
      const meta = path.join(area, name, META_FILE);
      await writeFile(meta, JSON.stringify({ kernel, initrd: file, qemu: file }));
      const t = new Date(Date.now() - usedSecondsAgo * 1000);
      await utimes(meta, t, t);
    };
    await make('new', file, 100);
    await make('gone', '/no/such/vmlinuz', 1);
    await make('old', file, 50);
    await make('recent', file, 10);
    await make('used', file, 20);
    await touchSnapshot(snapshotPaths(path.join(area, 'old'), 'old'));
    await sweepSnapshots(root, 'new', 3);
    expect((await readdir(area)).sort()).toEqual(['new', 'old', 'recent']);
  });
});

describe('secretsLine', () => {
  it('one line: key, time, nonce, seed; fresh secrets differ per restore', () => {
    const a = freshSecrets('AAAAC3NzaC1lZDI1NTE5AAAAIO+/x=');
    const b = freshSecrets('AAAAC3NzaC1lZDI1NTE5AAAAIO+/x=');
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.seed).not.toBe(b.seed);
    expect(Math.abs(a.now - Date.now() / 1000)).toBeLessThan(5);
    const line = secretsLine(a);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trim().split(' ')).toEqual([a.publicBlob, String(a.now), a.nonce, a.seed]);
  });

  it('refuses a word that would break the line init reads', () => {
    expect(() => secretsLine({ ...freshSecrets('AAAA'), publicBlob: 'a b' })).toThrow(/not one word/);
    expect(() => secretsLine({ ...freshSecrets('AAAA'), nonce: 'x\nroot' })).toThrow(/not one word/);
  });
});
