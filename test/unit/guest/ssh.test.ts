// exec over a real SSH connection to an in-process ssh2 server (no guest): output decoded as a
// stream, bounded by maxOutputBytes, and what was dropped said.
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droppedLine } from '../../../harness/src/util/bounded-text.js';
import { generateUsableKeyPair } from '../../../harness/src/guest/keys.js';
import { connectGuest, withExecDefaults, type ExecOptions, type GuestConnection } from '../../../harness/src/guest/ssh.js';

type Channel = ssh2.ServerChannel;

/** Write `total` bytes of `byte` in 64 KiB chunks, waiting whenever the channel's window is full. */
async function flood(out: NodeJS.WritableStream, total: number, byte: string): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, byte);
  for (let sent = 0; sent < total; sent += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
    if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
  }
}

/** The commands this server knows: what a guest's test would print. */
async function run(command: string, channel: Channel): Promise<number> {
  const [name, arg] = command.split(' ');
  if (name === 'split') {
    // Every byte of each multi-byte character in a packet of its own.
    for (const b of Buffer.from('a€😀é\n')) {
      channel.write(Uint8Array.of(b));
      channel.stderr.write(Uint8Array.of(b));
      await new Promise((r) => setImmediate(r));
    }
    return 0;
  }
  if (name === 'flood') {
    // stderr first: stdout and stderr share the channel's window, which the flood keeps full.
    channel.stderr.write('done\n');
    channel.write('head ');
    await flood(channel, Number(arg), 'x');
    channel.write(' tail');
    return 3;
  }
  channel.write(`hello ${command}\n`);
  return 0;
}

let server: ssh2.Server;
let conn: GuestConnection;
beforeAll(async () => {
  const host = generateUsableKeyPair();
  const user = generateUsableKeyPair();
  server = new ssh2.Server({ hostKeys: [host.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('error', () => {});
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        const channel = acceptExec();
        void run(info.command, channel).then((code) => {
          channel.exit(code);
          channel.end();
        });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  conn = await connectGuest({ port: (server.address() as AddressInfo).port, privateKey: user.private, hostKey: host.public, timeoutMs: 20_000 });
});
afterAll(async () => {
  conn?.close();
  await new Promise((r) => server?.close(r));
});

describe('exec', () => {
  it('gives stdout, stderr and the exit code, and no dropped counts when nothing was dropped', async () => {
    const r = await conn.exec('echo');
    expect(r).toEqual({ exitCode: 0, signal: null, stdout: 'hello echo\n', stderr: '' });
  });

  it('keeps characters whose bytes came in separate packets', async () => {
    const r = await conn.exec('split');
    expect(r.stdout).toBe('a€😀é\n');
    expect(r.stderr).toBe('a€😀é\n');
  });

  it('keeps head and tail of an output past maxOutputBytes, and says how much it dropped', async () => {
    const total = 5 + 20_000_000 + 5;
    const r = await conn.exec('flood 20000000', { maxOutputBytes: 1 << 20 });
    expect(r.exitCode).toBe(3);
    expect(r.dropped).toEqual({ stdout: total - (1 << 20), stderr: 0 });
    expect(r.stdout).toBe(`head ${'x'.repeat((1 << 19) - 5)}\n${droppedLine(total - (1 << 20))}\n${'x'.repeat((1 << 19) - 5)} tail`);
    expect(r.stderr).toBe('done\n');
  }, 60_000);
});

describe('withExecDefaults', () => {
  it('fills the options a call leaves unset, and leaves the rest of the connection as it is', async () => {
    const seen: ExecOptions[] = [];
    const fake: GuestConnection = { ...conn, exec: async (_c, o = {}) => (seen.push(o), { exitCode: 0, signal: null, stdout: '', stderr: '' }) };
    const limited = withExecDefaults(fake, { maxOutputBytes: 10 });
    await limited.exec('a');
    await limited.exec('b', { timeoutMs: 5, stage: 'test' });
    await limited.exec('c', { maxOutputBytes: 99 });
    expect(seen).toEqual([{ maxOutputBytes: 10 }, { maxOutputBytes: 10, timeoutMs: 5, stage: 'test' }, { maxOutputBytes: 99 }]);
    expect(limited.closed).toBe(conn.closed);
    expect(limited.isOpen()).toBe(true);
    // Through a real connection: the default limit applies.
    const r = await withExecDefaults(conn, { maxOutputBytes: 100 }).exec('flood 1000');
    expect(r.dropped).toEqual({ stdout: 910, stderr: 0 });
  });
});
