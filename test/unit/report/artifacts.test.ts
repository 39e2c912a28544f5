import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelDirs, planArtifacts, writeArtifacts } from '../../../harness/src/report/artifacts.js';
import { jsonReport } from '../../../harness/src/report/json.js';
import { junitReport } from '../../../harness/src/report/junit.js';
import { result } from './result.js';

const full = result({ logs: { console: 'c\r\n', dmesg: 'd\n', test: '', build: 'b\n' }, stages: { total: 1 } });
const buildFailed = result({ kernel: '6.12.48+deb13-cloud-amd64', series: '6.12', outcome: 'build-failed', logs: { build: 'error\n' } });
const unresolved = result({ kernel: 'buildroot:/home/me/out', series: 'buildroot:/home/me/out', outcome: 'infra-error' });

describe('kernelDirs', () => {
  it('is the release, made safe as a file name and unique', () => {
    expect(kernelDirs([full, buildFailed, unresolved, full, full])).toEqual([
      '6.1.0-56-cloud-amd64',
      '6.12.48+deb13-cloud-amd64',
      'buildroot__home_me_out',
      '6.1.0-56-cloud-amd64-2',
      '6.1.0-56-cloud-amd64-3',
    ]);
    expect(kernelDirs([result({ kernel: '..' }), result({ kernel: '' }), result({ kernel: 'results.json' }), result({ kernel: 'a/../..' })])).toEqual([
      '_..',
      '_',
      'results.json-2',
      'a_.._..',
    ]);
  });
});

describe('planArtifacts', () => {
  it('plans per kernel its logs and result.json, then results.json, and junit.xml only when asked', () => {
    const plan = planArtifacts([full, buildFailed]);
    expect(plan.map((f) => f.path)).toEqual([
      '6.1.0-56-cloud-amd64/console.log',
      '6.1.0-56-cloud-amd64/dmesg.txt',
      '6.1.0-56-cloud-amd64/test-output.txt',
      '6.1.0-56-cloud-amd64/build.log',
      '6.1.0-56-cloud-amd64/result.json',
      // A log the run did not produce is not written (an empty one is: the test printed nothing).
      '6.12.48+deb13-cloud-amd64/build.log',
      '6.12.48+deb13-cloud-amd64/result.json',
      'results.json',
    ]);
    expect(
      planArtifacts([full], { junit: true })
        .map((f) => f.path)
        .at(-1),
    ).toBe('junit.xml');
  });

  it('keeps logs byte for byte, and the results as the --json report has them', () => {
    const plan = new Map(planArtifacts([full, buildFailed], { junit: true }).map((f) => [f.path, f.content]));
    expect(plan.get('6.1.0-56-cloud-amd64/console.log')).toBe('c\r\n');
    expect(plan.get('6.1.0-56-cloud-amd64/test-output.txt')).toBe('');
    expect(JSON.parse(plan.get('6.12.48+deb13-cloud-amd64/result.json')!)).toEqual(buildFailed);
    expect(plan.get('results.json')).toBe(jsonReport([full, buildFailed]));
    expect(plan.get('junit.xml')).toBe(junitReport([full, buildFailed]));
  });
});

describe('planArtifacts and long logs', () => {
  it('writes each log as the run kept it, and result.json with the excerpts results.json has', () => {
    const long = result({ logs: { test: 't'.repeat(200_000), console: 'c'.repeat(100_000) }, dropped: { stdout: 123 } });
    const plan = new Map(planArtifacts([long]).map((f) => [f.path, f.content]));
    expect(plan.get('6.1.0-56-cloud-amd64/test-output.txt')).toBe(long.logs.test);
    expect(plan.get('6.1.0-56-cloud-amd64/console.log')).toBe(long.logs.console);
    const saved = JSON.parse(plan.get('6.1.0-56-cloud-amd64/result.json')!) as typeof long;
    expect(saved.logs.test!.length).toBeLessThan(70_000);
    expect(saved.logs.test).toContain('[kmod-harness: 134464 bytes dropped]');
    expect(saved.dropped).toEqual({ stdout: 123 });
    expect((JSON.parse(plan.get('results.json')!) as { results: unknown[] }).results[0]).toEqual(saved);
  });
});

describe('writeArtifacts', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('writes every planned file under the directory, and no temporary file', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'kmh-art-')), 'new', 'art');
    dirs.push(path.dirname(path.dirname(dir)));
    const written = await writeArtifacts(dir, [full, unresolved], { junit: true });
    const plan = planArtifacts([full, unresolved], { junit: true });
    expect(written).toEqual(plan.map((f) => path.join(dir, f.path)));
    for (const f of plan) expect(await readFile(path.join(dir, f.path), 'utf8')).toBe(f.content);
    expect((await readdir(dir)).sort()).toEqual(['6.1.0-56-cloud-amd64', 'buildroot__home_me_out', 'junit.xml', 'results.json']);
    expect((await readdir(path.join(dir, 'buildroot__home_me_out'))).sort()).toEqual(['result.json']);
  });
});
