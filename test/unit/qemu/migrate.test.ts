// Saving and restoring a VM's state with the real QEMU and its real QMP socket, on a machine
// with no kernel (the firmware alone runs): the same sequence of commands a guest's snapshot
// takes (qemu/migrate.ts), RAM in a shared file at save and mapped private at restore.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlArgs, machineArgs, resourceArgs, type RamFile } from '../../../harness/src/qemu/args.js';
import { loadState, saveState, shellWord } from '../../../harness/src/qemu/migrate.js';
import { connectQmp } from '../../../harness/src/qemu/qmp.js';

let dir: string;
beforeAll(async () => {
  // A quote and a space in the path: the exec: URI goes through sh.
  dir = await mkdtemp(path.join(tmpdir(), "kmh-migrate it's-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function qemu(ramFile: RamFile, socket: string, incoming: boolean) {
  const argv = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    ...machineArgs('tcg', 'amd64', undefined, true),
    ...resourceArgs(64, 1, ramFile),
    ...controlArgs(socket, incoming),
  ];
  return execa('qemu-system-x86_64', argv, { reject: false, stdin: 'ignore', cleanup: true });
}

describe('saveState and loadState with QEMU', () => {
  it('saves the device state without the RAM, and a fresh QEMU loads it paused, then runs', async () => {
    const ram = path.join(dir, 'guest ram');
    const state = path.join(dir, 'state');
    const source = qemu({ path: ram, share: true }, path.join(dir, 'save.sock'), false);
    try {
      const qmp = await connectQmp(path.join(dir, 'save.sock'), 10_000, source);
      await saveState(qmp, state, 20_000);
      expect(await qmp.execute('query-status')).toMatchObject({ status: 'postmigrate' });
      qmp.close();
    } finally {
      source.kill('SIGKILL');
      await source;
    }
    // 64 MiB of guest RAM stayed in its file: the state holds devices only.
    expect((await stat(state)).size).toBeLessThan(4 << 20);
    expect((await stat(ram)).size).toBe(64 << 20);

    const target = qemu({ path: ram, share: false }, path.join(dir, 'load.sock'), true);
    try {
      const qmp = await connectQmp(path.join(dir, 'load.sock'), 10_000, target);
      await loadState(qmp, state, 20_000, target);
      expect(await qmp.execute('query-status')).toMatchObject({ status: 'running' });
      qmp.close();
    } finally {
      target.kill('SIGKILL');
      await target;
    }
  }, 60_000);

  it('a corrupted state makes QEMU refuse it: loadState rejects, it does not hang', async () => {
    const ram = path.join(dir, 'ram2');
    const state = path.join(dir, 'bad-state');
    await writeFile(state, Buffer.alloc(4096, 0x5a));
    await writeFile(ram, Buffer.alloc(0));
    const target = qemu({ path: ram, share: false }, path.join(dir, 'bad.sock'), true);
    try {
      const qmp = await connectQmp(path.join(dir, 'bad.sock'), 10_000, target);
      await expect(loadState(qmp, state, 20_000, target)).rejects.toThrow(/snapshot|control socket|QEMU/);
      qmp.close();
    } finally {
      target.kill('SIGKILL');
      const exit = await target;
      expect(`${exit.stderr}`).toMatch(/load|migration|incoming|memory|size/i);
    }
  }, 60_000);

  it('QMP reports what QEMU refuses as an error with its message', async () => {
    const socket = path.join(dir, 'err.sock');
    const vm = qemu({ path: path.join(dir, 'ram3'), share: true }, socket, false);
    try {
      const qmp = await connectQmp(socket, 10_000, vm);
      await expect(qmp.execute('no-such-command')).rejects.toThrow(/QEMU: .*no-such-command.*CommandNotFound/);
      // The connection stays usable after an error reply.
      expect(await qmp.execute('query-status')).toMatchObject({ running: true });
      qmp.close();
    } finally {
      vm.kill('SIGKILL');
      await vm;
    }
  }, 60_000);

  it('connectQmp leaves no timer behind from the attempts before QEMU made its socket (one kept a run alive 5 s past its end)', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const socket = path.join(dir, 'late.sock');
    // Connect first: the socket does not exist yet, so the first attempts fail.
    const connecting = connectQmp(socket, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const vm = qemu({ path: path.join(dir, 'ram4'), share: true }, socket, false);
    try {
      const qmp = await connecting;
      qmp.close();
    } finally {
      vm.kill('SIGKILL');
      await vm;
    }
    expect(timers()).toBeLessThanOrEqual(before);
  }, 60_000);

  it('connectQmp gives up when QEMU is gone', async () => {
    await expect(connectQmp(path.join(dir, 'never.sock'), 300)).rejects.toThrow(/could not reach QEMU's control socket/);
  });
});

describe('shellWord', () => {
  it('quotes a path for the sh -c of an exec: migration', async () => {
    const file = path.join(dir, "a b'c");
    await writeFile(file, 'x');
    const r = await execa('sh', ['-c', `cat ${shellWord(file)}`]);
    expect(r.stdout).toBe('x');
    expect(await readFile(file, 'utf8')).toBe('x');
  });
});
