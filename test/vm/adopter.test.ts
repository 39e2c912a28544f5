// kmod-harness used from another module's repo, as the README tells it: a copy of
// test/fixtures/adopter (its own kmod-harness.config.ts, vitest.config.ts and a test file using
// kmod-harness/vitest) with this package installed from its `npm pack` tarball, as a user would
// get it (so a file missing from package.json's "files" fails here). Its vitest boots its own
// VM (no globalSetup there), and `kmod-harness run` there picks up its config.
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../harness/src/util/paths.js';
import { childEnv, firstKernel, qemuCount } from './support.js';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/adopter');
const kernel = firstKernel();
const env = childEnv({ KMOD_HARNESS_KERNELS: kernel });

let repo: string;
beforeAll(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'kmod-harness-adopter-'));
  await cp(FIXTURE, repo, { recursive: true });
  // dist/ is built by `npm test` before the tests: pack it as it is, without `prepare`.
  await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', repo], { cwd: PACKAGE_ROOT });
  // The versions of this project's lockfile, from npm's cache where it has them: `npm ci` caches
  // their tarballs but not the packuments `npm install name@version` reads, so on an empty
  // cache those come from the registry (--prefer-offline, not --offline).
  const version = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const dep = (name: string) => `${name}@${version(path.join(PACKAGE_ROOT, 'node_modules', name))}`;
  const tarball = `./kmod-harness-${version(PACKAGE_ROOT)}.tgz`;
  await execa('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', tarball, dep('vitest'), dep('typescript'), dep('@types/node')], {
    cwd: repo,
  });
}, 120_000);
afterAll(async () => {
  if (repo) await rm(repo, { recursive: true, force: true });
});

describe(`a module's own repo on ${kernel}`, () => {
  it("its config and test file type-check against kmod-harness's published types (defineConfig, useKernels, the matchers)", async () => {
    const r = await execa(path.join(repo, 'node_modules/.bin/tsc'), ['-p', repo], { cwd: repo, reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
  });

  it('its vitest suite passes through kmod-harness/vitest, and the matcher fails where it should', async () => {
    const before = await qemuCount();
    const report = path.join(repo, 'report.json');
    const r = await execa('node', [path.join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`], {
      cwd: repo,
      env,
      extendEnv: false,
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    const json = JSON.parse(await readFile(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }>;
    };
    expect(json.numFailedTests).toBe(0);
    expect(json.testResults[0]!.assertionResults.map((a) => [a.title, a.status])).toEqual([
      ['passes, with its kernel-log lines and no kernel errors', 'passed'],
      ['lines out of order fail the matcher', 'passed'],
    ]);
    // Its afterAll powered its own VM off: as many QEMUs as before (this run's own VMs).
    expect(await qemuCount()).toBe(before);
  });

  it('`kmod-harness run` there reads its kmod-harness.config.ts (module, test, expect.kernelLog)', async () => {
    const json = path.join(repo, 'run.json');
    const r = await execa(path.join(repo, 'node_modules/.bin/kmod-harness'), ['run', '--json', json], {
      cwd: path.join(repo, 'tests'),
      env,
      extendEnv: false,
      reject: false,
      all: true,
    });
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
    const r = await execa(path.join(repo, 'node_modules/.bin/kmod-harness'), ['run', '--config', config], {
      cwd: repo,
      env,
      extendEnv: false,
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toContain('test-failed  ');
    expect(r.all).toContain("expected kernel-log line 'kmh_hello: never printed' not found");
  });
});
