// Snapshots of the booted guest, through the real CLI on the run's first kernel: the first boot
// of a configuration saves one, the next restores it (faster than a cold boot, measured in the
// same test), a changed boot parameter makes a new one, a corrupted one falls back to a cold
// boot with a warning, two runs restore one snapshot at once; and the vitest helpers' snapshot
// isolation gives each job its own restored guest. Each test's boot configuration is its own
// (a unique boot parameter), and its snapshots are removed at the end.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../harness/src/cache/store.js';
import { readSnapshotMeta, SNAPSHOTS_AREA, STATE_FILE } from '../../harness/src/guest/snapshot.js';
import type { KernelResult } from '../../harness/src/run.js';
import { PACKAGE_ROOT } from '../../harness/src/util/paths.js';
import { useKernels } from '../../harness/src/vitest/index.js';
import { childEnv, firstKernel } from './support.js';

const CLI = path.join(PACKAGE_ROOT, 'dist/cli.js');
const kernel = firstKernel();
const env = childEnv();
const tag = randomBytes(4).toString('hex');
const AREA = path.join(cacheRoot(), SNAPSHOTS_AREA);

/** The snapshot entries whose kernel command line contains `text` (a trailing space: the parameter exactly). */
async function snapshotsWith(text: string): Promise<string[]> {
  const names = (await readdir(AREA).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  const metas = await Promise.all(names.map(async (n) => ({ n, meta: await readSnapshotMeta(path.join(AREA, n)) })));
  const cmdline = (argv: string[]) => `${argv[argv.indexOf('-append') + 1] ?? ''} `;
  return metas.filter(({ meta }) => meta && cmdline(meta.argv).includes(text)).map(({ n }) => path.join(AREA, n));
}

const params: string[] = [];
afterAll(async () => {
  for (const p of params) for (const dir of await snapshotsWith(`${p} `)) await rm(dir, { recursive: true, force: true });
});

/**
 * A run of the seed with its own boot configuration (`param`); its result and output. With
 * `smallShm`, in a mount namespace whose /dev/shm is a 16 MiB tmpfs, as containers have (64 MiB
 * in Docker): the guest's RAM cannot go there while its snapshot is made (root only).
 */
async function seedRun(param: string, extra: string[] = [], smallShm = false) {
  if (!params.includes(param)) params.push(param);
  const json = path.join(tmpdir(), `kmh-snapshot-${tag}-${randomBytes(4).toString('hex')}.json`);
  // Without the settle window and the reload: these runs are about the boot.
  const argv = [CLI, 'run', '--kernel', kernel, '--plain', '--settle', '0', '--reloads', '0', '--boot-param', param, '--json', json, ...extra];
  const [cmd, args] = smallShm
    ? ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=16m tmpfs /dev/shm && exec node "$@"', 'sh', ...argv]]
    : ['node', argv];
  const r = await execa(cmd, args, { env, extendEnv: false, reject: false, all: true });
  try {
    const [result] = (JSON.parse(await readFile(json, 'utf8')) as { results: KernelResult[] }).results;
    return { result: result!, all: r.all, exitCode: r.exitCode };
  } finally {
    await rm(json, { force: true });
  }
}

/** RAM files of snapshot boots left in /dev/shm by this process's children: there must be none. */
const shmLeft = async () => (await readdir('/dev/shm').catch(() => [] as string[])).filter((n) => /^kmod-harness-.*\.ram$/.test(n));

// The tests of this describe run in order and share the first one's configuration.
describe(`snapshots on ${kernel}`, () => {
  const param = `kmh_snap=${tag}`;

  it('the first run saves a snapshot, the second restores it and passes, faster than a cold boot of the same configuration', async () => {
    const first = await seedRun(param);
    expect(first.result.outcome, first.all).toBe('pass');
    expect(first.result.boot).toBe('saved');
    expect(await snapshotsWith(`${param} `)).toHaveLength(1);

    const second = await seedRun(param);
    expect(second.result.outcome, second.all).toBe('pass');
    expect(second.result.boot).toBe('restored');
    expect(second.all).toContain('restored from a snapshot');

    const cold = await seedRun(param, ['--no-snapshot']);
    expect(cold.result.outcome, cold.all).toBe('pass');
    expect(cold.result.boot).toBe('cold');
    const boot = (r: KernelResult) => (r.stages.boot ?? 0) + (r.stages.ssh ?? 0);
    // A ratio measured in this test, not an absolute time: under TCG a restore is ~1 s, a cold boot ~5.
    expect(boot(second.result) / boot(cold.result), `restored ${boot(second.result)} ms, cold ${boot(cold.result)} ms`).toBeLessThan(0.5);
    expect(await shmLeft()).toEqual([]);
  });

  // As root (CI), with a /dev/shm too small for the guest's RAM: the snapshot is made with it beside the entry.
  const root = process.getuid?.() === 0;
  it(`another boot parameter is another configuration: its snapshot is not used, a new one is made${root ? ' (with a small /dev/shm)' : ''}`, async () => {
    const other = `${param}x`;
    const run = await seedRun(other, [], root);
    expect(run.result.outcome, run.all).toBe('pass');
    expect(run.result.boot).toBe('saved');
    const [made] = await snapshotsWith(`${other} `);
    expect((await readSnapshotMeta(made!))?.argv.join(' ')).toContain(other);
    // The RAM file the boot used beside the entry was copied into it and removed.
    expect((await readdir(made!)).sort()).toEqual(['console.log', 'meta.json', 'ram', 'state']);
  });

  it('a corrupted snapshot falls back to a cold boot with a warning, is replaced, and the run passes', async () => {
    const [dir] = await snapshotsWith(`${param} `);
    await writeFile(path.join(dir!, STATE_FILE), randomBytes(64 << 10));
    const after = await seedRun(param);
    expect(after.result.outcome, after.all).toBe('pass');
    expect(after.all).toMatch(/the snapshot .* could not be restored \(.*\): removed it, booting cold/);
    expect(after.result.boot).toBe('saved');
  });

  it('two runs at once restore the same snapshot (the one just made anew)', async () => {
    const both = await Promise.all([seedRun(param), seedRun(param)]);
    for (const r of both) {
      expect(r.result.outcome, r.all).toBe('pass');
      expect(r.result.boot).toBe('restored');
    }
    expect(await snapshotsWith(`${param} `)).toHaveLength(1);
  });
});

const [vm] = await useKernels({ kernels: firstKernel(), isolate: 'snapshot' });

describe(`snapshot isolation on ${kernel}`, () => {
  it('two consecutive jobs get guests of their own, restored from the snapshot: distinct boot ids', async () => {
    const test = path.resolve(import.meta.dirname, '../fixtures/snapshot/boot-id.c');
    const one = await vm!.run({ test });
    const two = await vm!.run({ test });
    for (const r of [one, two]) {
      expect(r.outcome, r.reasons.join('\n')).toBe('pass');
      expect(r.vm).toMatchObject({ isolated: true, fresh: true, bootKind: 'restored' });
      // What the harness says is what the guest has.
      expect(r.stdout).toContain(`harness=${r.vm.bootId}`);
    }
    expect(one.vm.bootId).toMatch(/^[0-9a-f]{32}$/);
    expect(one.vm.bootId).not.toBe(two.vm.bootId);
    // The kernel's own boot_id is made at its first read, from the guest's CRNG, which is the
    // snapshot's: on 6.1 it differed per restore, on 5.10 (no reseed until minutes later) it did not.
    expect(/kernel=([0-9a-f-]{36})/.test(one.stdout)).toBe(true);
  });
});
