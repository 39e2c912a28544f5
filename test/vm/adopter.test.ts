// kmod-harness used from another module's repo, as the README tells it: a copy of
// test/fixtures/adopter (its own kmod-harness.config.ts, vitest.config.ts and a test file using
// kmod-harness/vitest) with this package linked in as its dependency. Its vitest boots its own
// VM (no globalSetup there), and `kmod-harness run` there picks up its config.
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PACKAGE_ROOT } from '../../harness/src/paths.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/adopter');
// The first kernel of this run: in CI's kernel matrix, the adopter runs on the job's kernel.
const kernel = inject('kmodHarness')?.settings.kernels[0] ?? '6.1';
// Not GITHUB_ACTIONS: the runs of this test must not write their tables (one fails on purpose)
// into the step summary of the job running the tests.
const { GITHUB_ACTIONS: _actions, GITHUB_STEP_SUMMARY: _summary, ...outer } = process.env;
const env = { ...outer, KMOD_HARNESS_KERNELS: kernel };

const qemus = async () => (await execa('pgrep', ['-c', '-x', 'qemu-system-x86_64'], { reject: false })).stdout.trim();

let repo: string;
beforeAll(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'kmod-harness-adopter-'));
  await cp(FIXTURE, repo, { recursive: true });
  await mkdir(path.join(repo, 'node_modules/.bin'), { recursive: true });
  // As `npm install --save-dev kmod-harness vitest` would leave it, without the download
  // (npm would also make the bin executable: it is run with node here).
  await symlink(PACKAGE_ROOT, path.join(repo, 'node_modules/kmod-harness'));
  await symlink(path.join(PACKAGE_ROOT, 'node_modules/vitest'), path.join(repo, 'node_modules/vitest'));
  await mkdir(path.join(repo, 'node_modules/@types'));
  await symlink(path.join(PACKAGE_ROOT, 'node_modules/@types/node'), path.join(repo, 'node_modules/@types/node'));
  await symlink(path.join(PACKAGE_ROOT, 'dist/cli.js'), path.join(repo, 'node_modules/.bin/kmod-harness'));
});
afterAll(async () => {
  if (repo) await rm(repo, { recursive: true, force: true });
});

describe(`a module's own repo on ${kernel}`, () => {
  it("its config and test file type-check against kmod-harness's published types (defineConfig, useKernels, the matchers)", async () => {
    const r = await execa('node', [path.join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', repo], { cwd: repo, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
  });

  it('its vitest suite passes through kmod-harness/vitest, and the matcher fails where it should', async () => {
    const before = await qemus();
    const report = path.join(repo, 'report.json');
    const r = await execa('node', [path.join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`], { cwd: repo, env, extendEnv: false, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    const json = JSON.parse(await readFile(report, 'utf8')) as { numPassedTests: number; numFailedTests: number; testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }> };
    expect(json.numFailedTests).toBe(0);
    expect(json.testResults[0]!.assertionResults.map((a) => [a.title, a.status])).toEqual([
      ['passes, with its kernel-log lines and no kernel errors', 'passed'],
      ['lines out of order fail the matcher', 'passed'],
    ]);
    // Its afterAll powered its own VM off: as many QEMUs as before (this run's own VMs).
    expect(await qemus()).toBe(before);
  });

  it('`kmod-harness run` there reads its kmod-harness.config.ts (module, test, expect.kernelLog)', async () => {
    const json = path.join(repo, 'run.json');
    const r = await execa('node', [path.join(repo, 'node_modules/.bin/kmod-harness'), 'run', '--json', json], { cwd: path.join(repo, 'tests'), env, extendEnv: false, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain(`config: ${path.join(repo, 'kmod-harness.config.ts')}`);
    const { results } = JSON.parse(await readFile(json, 'utf8')) as { results: Array<{ outcome: string; logs: { dmesg?: string; test?: string } }> };
    expect(results).toHaveLength(1);
    expect(results[0]!.outcome).toBe('pass');
    expect(results[0]!.logs.test).toContain('ok - /proc/kmh_hello says hello');
  });

  it('a config line the module never prints fails the run, naming the line', async () => {
    const config = path.join(repo, 'strict.config.ts');
    await writeFile(config, "import base from './kmod-harness.config.ts';\nexport default { ...base, expect: { kernelLog: ['kmh_hello: never printed'] } };\n");
    const r = await execa('node', [path.join(repo, 'node_modules/.bin/kmod-harness'), 'run', '--config', config], { cwd: repo, env, extendEnv: false, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain("test-failed  ");
    expect(r.all).toContain("expected kernel-log line 'kmh_hello: never printed' not found");
  });
});
