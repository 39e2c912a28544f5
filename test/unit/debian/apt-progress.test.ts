import { appendFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aptState, download, pollBytes } from '../../../harness/src/debian/apt.js';
import type { IndexPackage } from '../../../harness/src/kernel/packages-index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'apt-progress-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pollBytes', () => {
  it('reports the growing size of new files, not of those there before, and once more on stop', async () => {
    await writeFile(path.join(dir, 'old.deb'), Buffer.alloc(5000));
    const calls: Array<[number, number]> = [];
    const poller = pollBytes(dir, new Set(['old.deb']), 1e9, (done, total) => calls.push([done, total]), 10);
    await writeFile(path.join(dir, 'a.deb'), Buffer.alloc(1000));
    await sleep(60);
    await writeFile(path.join(dir, 'b.deb'), Buffer.alloc(1500));
    await sleep(60);
    await appendFile(path.join(dir, 'b.deb'), Buffer.alloc(500));
    await poller.stop();
    // 1000 + 2000: old.deb's 5000 bytes are not counted.
    expect(calls.at(-1)).toEqual([3000, 1e9]);
    expect(calls.length).toBeGreaterThan(1);
    // Only changes are reported.
    expect(calls.every(([d], i) => i === 0 || d !== calls[i - 1]![0])).toBe(true);
  });

  it('caps the bytes at the total', async () => {
    await writeFile(path.join(dir, 'big.deb'), Buffer.alloc(200));
    const calls: number[] = [];
    await pollBytes(dir, new Set(), 100, (done) => calls.push(done), 1000).stop();
    expect(calls).toEqual([100]);
  });

  it('stops polling on stop', async () => {
    let calls = 0;
    const poller = pollBytes(dir, new Set(), 10, () => calls++, 5);
    await poller.stop();
    const after = calls;
    await writeFile(path.join(dir, 'late.deb'), 'x');
    await sleep(30);
    expect(calls).toBe(after);
  });
});

describe('download with onProgress', () => {
  const savedPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = savedPath;
  });

  it("reports the bytes apt-get writes into its cwd against the packages' index sizes", async () => {
    // A stand-in apt-get that writes the .deb in three pieces, as a slow mirror would.
    const bin = path.join(dir, 'bin');
    const out = path.join(dir, 'out');
    await Promise.all([mkdir(bin), mkdir(out)]);
    const script = '#!/bin/sh\nf=linux-image_1_amd64.deb\nfor i in 1 2 3; do head -c 1000 /dev/zero >> "$f"; sleep 0.4; done\n';
    await writeFile(path.join(bin, 'apt-get'), script);
    await chmod(path.join(bin, 'apt-get'), 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
    const state = aptState(
      path.join(dir, 'cache'),
      { suite: 'bookworm', archive: 'debian', checkValidUntil: true },
      { uri: 'http://mirror.example/debian', from: 'x' },
    );
    const pkg: IndexPackage = {
      name: 'linux-image',
      version: '1',
      depends: '',
      filename: 'pool/main/l/linux/linux-image_1_amd64.deb',
      size: 3000,
      sha256: undefined,
    };
    const calls: Array<[number, number]> = [];
    const failures = await download(state, [pkg], out, undefined, (done, total) => calls.push([done, total]));
    expect(failures).toEqual([]);
    expect(calls.some(([done]) => done > 0 && done < 3000)).toBe(true);
    expect(calls.at(-1)).toEqual([3000, 3000]);
    expect(calls.map(([d]) => d)).toEqual([...calls.map(([d]) => d)].sort((a, b) => a - b));
  });
});
