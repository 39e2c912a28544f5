// Ctrl-C and SIGTERM through the real CLI at several points of a run: exit 130/143, no QEMU
// left, no new kmod-harness temp dir left (one did leak when the signal came during a boot,
// before workdir.ts swept the dirs of a mkdtemp still in flight).
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../harness/src/util/paths.js';
import { childEnv, firstKernel, qemuCount } from './support.js';

const CLI = path.join(PACKAGE_ROOT, 'dist/cli.js');
const kernel = firstKernel();
const env = childEnv();

/** Start a run, send SIGINT when stderr first matches `when`, and return what is left. */
async function interrupt(when: RegExp, signal: NodeJS.Signals = 'SIGINT') {
  const before = await qemuCount();
  const pre = new Set(await readdir(tmpdir()));
  const child = execa('node', [CLI, 'run', '--kernel', kernel, '--plain'], { env, extendEnv: false, reject: false, all: true });
  let sent = false;
  child.stderr.on('data', (chunk: Buffer) => {
    if (!sent && when.test(chunk.toString())) {
      sent = true;
      child.kill(signal);
    }
  });
  const result = await child;
  const dirs = (await readdir(tmpdir())).filter((n) => n.startsWith(`kmod-harness-`) && !pre.has(n));
  return { result, sent, dirs, qemuBefore: before, qemuAfter: await qemuCount() };
}

describe(`Ctrl-C during a run on ${kernel}`, () => {
  it.each([
    ['while building and booting', /\] boot\.\.\./],
    ['while the test runs', /\] test\.\.\./],
    ['at the start', /config: /],
  ])('%s: exit 130, nothing left behind', async (_when, trigger) => {
    const { result, sent, dirs, qemuBefore, qemuAfter } = await interrupt(trigger);
    expect(sent, result.all).toBe(true);
    expect(result.exitCode, result.all).toBe(130);
    expect(result.all).toContain('SIGINT, stopping VMs');
    // No result table after the signal.
    expect(result.stdout).not.toContain('outcome');
    expect(dirs).toEqual([]);
    expect(qemuAfter).toBe(qemuBefore);
  });

  it('SIGTERM while booting: exit 143, nothing left behind', async () => {
    const { result, dirs, qemuBefore, qemuAfter } = await interrupt(/\] boot\.\.\./, 'SIGTERM');
    expect(result.exitCode, result.all).toBe(143);
    expect(dirs).toEqual([]);
    expect(qemuAfter).toBe(qemuBefore);
  });
});
