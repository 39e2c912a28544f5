#!/usr/bin/env node
// Runs the `run:` steps of a GitHub Actions job of .github/workflows/ci.yml on this machine, in a
// fresh clone of HEAD, for one matrix kernel: what can be exercised of the workflow without
// GitHub or a container engine. `uses:` steps are not run; the checkout is the clone, Node is the
// machine's, the cache is the machine's own cache dir, and an upload-artifact step is checked
// by listing the files it would upload. Expressions: matrix.*, steps.*.outputs.*, hashFiles(),
// github.workflow/ref; anything else stops the script.
//   node --import jiti/register scripts/ci-local.ts [kernel]   (default 6.1; as root, like the container job)
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';

const repo = path.resolve(import.meta.dirname, '..');
const kernel = process.argv[2] ?? '6.1';
/** The parts of a workflow this script reads. */
interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Workflow {
  name: string;
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

const workflow = parse(readFileSync(path.join(repo, '.github/workflows/ci.yml'), 'utf8')) as Workflow;
const first = Object.entries(workflow.jobs)[0];
if (!first) throw new Error('.github/workflows/ci.yml has no job');
const [jobName, job] = first;
const work = mkdtempSync(path.join(tmpdir(), 'kmod-harness-ci-local-'));
const clone = path.join(work, 'repo');
const files = { GITHUB_OUTPUT: path.join(work, 'output'), GITHUB_STEP_SUMMARY: path.join(work, 'summary.md'), GITHUB_ENV: path.join(work, 'env') };
const outputs: Record<string, Record<string, string>> = {};

function hashFiles(pattern: string): string {
  const file = path.join(clone, pattern);
  return existsSync(file)
    ? createHash('sha256')
        .update(createHash('sha256').update(readFileSync(file)).digest())
        .digest('hex')
    : '';
}

function expand(text: unknown, stepIds: string): string {
  return String(text).replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    let m: RegExpExecArray | null;
    if ((m = /^matrix\.(\w+)$/.exec(expr))) return m[1] === 'kernel' ? kernel : '';
    if ((m = /^steps\.(\w+)\.outputs\.([\w-]+)$/.exec(expr))) return outputs[m[1]!]?.[m[2]!] ?? '';
    if ((m = /^hashFiles\('([^']+)'\)$/.exec(expr))) return hashFiles(m[1]!);
    if (expr === 'github.workflow') return workflow.name;
    if (expr === 'github.ref') return 'refs/heads/main';
    throw new Error(`expression not supported here: ${expr} (in ${stepIds})`);
  });
}

function listFiles(p: string): string[] {
  if (!existsSync(p)) return [];
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(p, f))
    .filter((f) => statSync(f).isFile());
}

await execa('git', ['clone', '-q', repo, clone]);
for (const f of Object.values(files)) writeFileSync(f, '');
const env = {
  ...process.env,
  ...Object.fromEntries(Object.entries(job.env ?? {}).map(([k, v]) => [k, expand(v, 'env')])),
  ...files,
  GITHUB_ACTIONS: 'true',
  CI: 'true',
  GITHUB_WORKSPACE: clone,
};
const rows: Array<[string, string]> = [];
let failed = false;
for (const [i, step] of job.steps.entries()) {
  const name = expand(step.name ?? step.uses ?? `step ${i + 1}`, 'name');
  const condition = String(step.if ?? '');
  if (failed && !condition.includes('always()')) {
    rows.push([name, 'skipped (an earlier step failed)']);
    continue;
  }
  if (step.uses) {
    if (step.uses.startsWith('actions/upload-artifact')) {
      const paths = expand(step.with?.path, name)
        .split('\n')
        .map((p) => p.trim())
        .filter(Boolean);
      const found = paths.flatMap((p) => listFiles(path.join(clone, p)));
      rows.push([name, `not run (action); would upload ${found.length} file(s) from ${paths.join(', ')}`]);
      if (found.length === 0 && step.with?.['if-no-files-found'] === 'error') failed = true;
    } else rows.push([name, `not run (action ${step.uses})`]);
    continue;
  }
  const start = performance.now();
  writeFileSync(files.GITHUB_OUTPUT, '');
  // GitHub's `shell: bash`: bash --noprofile --norc -eo pipefail {0}
  const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', expand(step.run, name)], {
    cwd: clone,
    env,
    reject: false,
    stdout: 'inherit',
    stderr: 'inherit',
  });
  const secs = ((performance.now() - start) / 1000).toFixed(1);
  if (step.id)
    outputs[step.id] = Object.fromEntries(
      readFileSync(files.GITHUB_OUTPUT, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  rows.push([name, `exit ${r.exitCode} in ${secs} s${step.id ? `; outputs ${JSON.stringify(outputs[step.id])}` : ''}`]);
  if (r.exitCode !== 0) failed = true;
}
process.stdout.write(`\n== job ${jobName}, kernel ${kernel}, in ${clone}\n`);
for (const [name, what] of rows) process.stdout.write(`  ${name.padEnd(42)} ${what}\n`);
process.stdout.write(`\n== step summary (${files.GITHUB_STEP_SUMMARY})\n${readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')}\n`);
if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
