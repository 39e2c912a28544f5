// The --json report: `{"results":[...]}`, one entry per kernel, logs inline.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KernelResult } from '../run.js';

export function jsonReport(results: KernelResult[]): string {
  return `${JSON.stringify({ results }, null, 2)}\n`;
}

export async function writeJsonReport(file: string, results: KernelResult[]): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, jsonReport(results));
  await rename(tmp, file);
}
