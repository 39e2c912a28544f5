import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseAccel, probeFilePath, PROBE_FILE, readCachedProbe } from '../../../harness/src/qemu/accel.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kmod-harness-accel-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const put = (text: string) => writeFile(path.join(root, PROBE_FILE), text);

describe('readCachedProbe', () => {
  it('reads the verdict chooseAccel writes: its key, its failure, when it was written', async () => {
    await put(JSON.stringify({ key: '6.1.0|/usr/bin/qemu|1|2', failure: 'a probe boot under KVM failed: x' }));
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    await utimes(probeFilePath(root), at, at);
    expect(await readCachedProbe(root)).toEqual({ key: '6.1.0|/usr/bin/qemu|1|2', failure: 'a probe boot under KVM failed: x', writtenMs: at.getTime() });
  });

  it('a passed probe (failure null) has no failure', async () => {
    await put(JSON.stringify({ key: 'k', failure: null }));
    expect(await readCachedProbe(root)).toMatchObject({ key: 'k', failure: undefined });
  });

  it('is undefined without a file, for a file that is no JSON, and for one without a key', async () => {
    expect(await readCachedProbe(root)).toBeUndefined();
    await put('{"key": "k"');
    expect(await readCachedProbe(root)).toBeUndefined();
    await put(JSON.stringify({ failure: 'x' }));
    expect(await readCachedProbe(root)).toBeUndefined();
    await put(JSON.stringify({ key: 7 }));
    expect(await readCachedProbe(root)).toBeUndefined();
  });

  it('lives in the cache root under PROBE_FILE', () => {
    expect(probeFilePath('/c')).toBe('/c/accel-probe.json');
  });
});

describe('chooseAccel for a guest of another architecture', () => {
  it('is TCG without probing KVM (which runs only the host architecture), and says why', async () => {
    await expect(chooseAccel('auto', '/no/such/vmlinuz', root, 'arm64')).resolves.toEqual({ accel: 'tcg', reason: 'an arm64 guest on an amd64 host' });
    await expect(readCachedProbe(root)).resolves.toBeUndefined();
  });

  it('refuses --accel kvm, naming the fix', async () => {
    await expect(chooseAccel('kvm', '/no/such/vmlinuz', root, 'arm64')).rejects.toMatchObject({
      message: expect.stringContaining('the kernel is arm64 and this host is amd64'),
      fix: expect.stringContaining('--accel auto or tcg'),
    });
  });
});
