// startVm's console handling against a stand-in for QEMU on PATH: a script that writes a
// console (a flood of multi-byte lines, the ready marker split across writes) and then idles
// until killed, as QEMU with a booted guest does. No VM is booted.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootError } from '../../../harness/src/errors.js';
import { startVm, type VmOptions } from '../../../harness/src/qemu/process.js';

const FAKE_QEMU = `#!/usr/bin/env node
const mode = process.env.KMH_FAKE_QEMU;
const write = (s) => new Promise((r) => process.stdout.write(s, r));
(async () => {
  if (mode === 'exit') {
    process.stderr.write('qemu-system-x86_64: something broke\\n');
    await write('early console\\n');
    setTimeout(() => process.exit(1), 400);
    return;
  }
  await write('€ boot starts\\n');
  if (mode === 'ready-first') await write('KMOD-HARNESS-READY\\n');
  const lines = ('é'.repeat(100) + '\\n').repeat(10);
  for (let i = 0; i < 1000; i++) await write(lines);
  if (mode === 'flood') {
    await write('KMOD-HARNESS-');
    await new Promise((r) => setTimeout(r, 50));
    await write('READY\\n');
  }
  await write('the end 😀\\n');
  setInterval(() => {}, 1000);
})();
`;

let dir: string;
let oldPath: string | undefined;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmh-fake-qemu-'));
  await writeFile(path.join(dir, 'qemu-system-x86_64'), FAKE_QEMU);
  await chmod(path.join(dir, 'qemu-system-x86_64'), 0o755);
  oldPath = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${oldPath ?? ''}`;
});
afterAll(async () => {
  process.env.PATH = oldPath;
  delete process.env.KMH_FAKE_QEMU;
  await rm(dir, { recursive: true, force: true });
});

const options = (name: string, limit?: number): VmOptions => ({
  kernel: '/nonexistent/vmlinuz',
  initrd: '/nonexistent/initrd',
  append: [],
  accel: 'tcg',
  memoryMiB: 128,
  cpus: 1,
  consoleLog: path.join(dir, name),
  ...(limit === undefined ? {} : { consoleLimitBytes: limit }),
});

describe('startVm console', () => {
  it('finds a marker split across writes after megabytes of console, and keeps memory and file bounded', async () => {
    process.env.KMH_FAKE_QEMU = 'flood';
    const vm = await startVm(options('flood.log', 64 * 1024));
    try {
      await vm.waitForConsole('KMOD-HARNESS-READY', 30_000);
      // The last line: from here on the console holds still.
      await vm.waitForConsole('the end 😀\n', 30_000);
      const text = vm.console();
      expect(text.startsWith('€ boot starts\n')).toBe(true);
      expect(text).not.toContain('\uFFFD');
      expect(vm.consoleDropped()).toBeGreaterThan(1_900_000);
      expect(text).toContain(`[kmod-harness: ${vm.consoleDropped()} bytes dropped]`);
      expect(Buffer.byteLength(text)).toBeLessThan(64 * 1024 + 100);
      await vm.flushConsole();
      expect(await readFile(options('flood.log').consoleLog, 'utf8')).toBe(vm.console());
    } finally {
      await vm.stop();
    }
    // After the exit the file is final and what the capture kept, the last line included.
    const final = await readFile(options('flood.log').consoleLog, 'utf8');
    expect(final).toBe(vm.console());
    expect(final).toMatch(/KMOD-HARNESS-READY\nthe end 😀\n$/);
  }, 60_000);

  it('finds a marker that came before the wait began', async () => {
    process.env.KMH_FAKE_QEMU = 'ready-first';
    const vm = await startVm(options('early.log', 4096));
    try {
      // Wait until the marker is far behind the last chunk (and out of the match window).
      await vm.waitForConsole('the end', 30_000);
      // Kept in the head, 2 MB before the last chunk.
      expect(vm.console().indexOf('KMOD-HARNESS-READY')).toBe('€ boot starts\n'.length);
      await vm.waitForConsole('KMOD-HARNESS-READY', 1000);
    } finally {
      await vm.stop();
    }
  }, 60_000);

  it('rejects the wait with QEMU stderr when QEMU exits first, and keeps the console written', async () => {
    process.env.KMH_FAKE_QEMU = 'exit';
    const vm = await startVm(options('exit.log'));
    const error = await vm.waitForConsole('KMOD-HARNESS-READY', 30_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootError);
    expect((error as Error).message).toBe("QEMU exited before 'KMOD-HARNESS-READY' appeared on the console: qemu-system-x86_64: something broke");
    expect((await vm.exited).exitCode).toBe(1);
    expect(await readFile(options('exit.log').consoleLog, 'utf8')).toBe('early console\n');
  }, 60_000);
});
