// GitHub Actions output, when the run is a workflow step: a markdown result table appended to
// the job's step summary, and `::error` workflow commands that annotate the source lines the
// compiler or a kernel report blames.
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { KernelResult } from '../run.js';
import { failingSubtests, resultRows, subtestDifferences } from './table.js';

/** A workflow command's message: `%`, CR and LF escaped, as the runner unescapes them. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command's property value: as a message, and `:` and `,` too (they delimit properties). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Text for one markdown table cell: one line, markdown and HTML characters taken literally. */
export function markdownCell(text: string): string {
  return text
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`)
    .trim();
}

const MARK: Record<string, string> = { pass: '✅', 'infra-error': '⚠️' };

/** A markdown list under a heading, or nothing when there is nothing to list. */
function list(heading: string, items: readonly string[]): string[] {
  return items.length === 0 ? [] : [`**${heading}**`, '', ...items.map((i) => `- ${markdownCell(i)}`), ''];
}

/** The step summary: how many kernels passed, then one row per kernel, as the CLI's table. */
export function stepSummary(results: KernelResult[]): string {
  const passed = results.filter((r) => r.outcome === 'pass').length;
  const rows = resultRows(results);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [
    `### kmod-harness: ${passed} of ${results.length} kernel${results.length === 1 ? '' : 's'} passed`,
    '',
    line(['kernel', 'series', 'arch', 'outcome', 'subtests', 'boot', 'test', 'total', 'reason']),
    line(['---', '---', '---', '---', '---', '---:', '---:', '---:', '---']),
    ...results.map((r, i) => {
      const [kernel, outcome, subtests, boot, test, total, reason] = rows[i]!;
      return line([
        markdownCell(kernel!),
        markdownCell(r.series),
        r.arch,
        `${MARK[r.outcome] ?? '❌'} ${outcome}`,
        subtests!,
        boot!,
        test!,
        total!,
        markdownCell(reason!),
      ]);
    }),
    '',
    ...list('Failing subtests', failingSubtests(results)),
    ...list('Subtests that differ by kernel', subtestDifferences(results)),
  ].join('\n');
}

/** `file` relative to the workspace when it lies under it (GitHub links those), else as it is. */
export function workspacePath(file: string, workspace: string | undefined): string {
  if (!workspace) return file;
  const rel = path.relative(path.resolve(workspace), path.resolve(file));
  return rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? file : rel;
}

interface Annotation {
  file: string;
  line: number;
  col?: number;
  title: string;
  message: string;
  kernels: string[];
}

/**
 * `::error` lines for compile errors and for kernel errors symbolised to a line of the module.
 * The same error on several kernels is one annotation naming them all: GitHub shows only the
 * first ten errors of a step.
 */
export function annotations(results: KernelResult[], workspace: string | undefined): string[] {
  const found = new Map<string, Annotation>();
  const add = (key: string, a: Omit<Annotation, 'kernels'>, kernel: string): void => {
    const seen = found.get(key);
    if (seen) {
      if (!seen.kernels.includes(kernel)) seen.kernels.push(kernel);
    } else found.set(key, { ...a, kernels: [kernel] });
  };
  for (const r of results) {
    for (const d of r.diagnostics) {
      if (d.severity !== 'error') continue;
      const file = workspacePath(d.file, workspace);
      add(
        ['cc', file, d.line, d.column, d.message].join('\0'),
        { file, line: d.line, ...(d.column === undefined ? {} : { col: d.column }), title: 'compile error', message: d.message },
        r.kernel,
      );
    }
    for (const e of r.kernelErrors) {
      const at = e.source?.[0];
      if (!at) continue;
      const file = workspacePath(at.file, workspace);
      // Traces differ between kernels in their offsets: one per kind of report and line.
      add(
        ['kernel', file, at.line, e.kind, at.func].join('\0'),
        { file, line: at.line, title: `kernel ${e.kind} in ${at.func}`, message: [e.title, ...e.trace.map((t) => `  ${t}`)].join('\n') },
        r.kernel,
      );
    }
  }
  return [...found.values()].map((a) => {
    const props = [
      `file=${escapeProperty(a.file)}`,
      `line=${a.line}`,
      ...(a.col === undefined ? [] : [`col=${a.col}`]),
      `title=${escapeProperty(`${a.title} (${a.kernels.join(', ')})`)}`,
    ];
    return `::error ${props.join(',')}::${escapeData(a.message)}`;
  });
}

/** Whether this process is a GitHub Actions step (the runner sets GITHUB_ACTIONS=true). */
export function onGithub(env: NodeJS.ProcessEnv): boolean {
  const v = env.GITHUB_ACTIONS;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

/** On GitHub Actions: append the summary to $GITHUB_STEP_SUMMARY and print the annotations. */
export async function emitGithub(
  results: KernelResult[],
  env: NodeJS.ProcessEnv = process.env,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Promise<void> {
  if (!onGithub(env)) return;
  if (env.GITHUB_STEP_SUMMARY) await appendFile(env.GITHUB_STEP_SUMMARY, stepSummary(results));
  for (const line of annotations(results, env.GITHUB_WORKSPACE)) write(`${line}\n`);
}
