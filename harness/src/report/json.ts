// The --json report: `{"results":[...]}`, one entry per kernel, logs inline.
import { writeFileAtomic } from '../files.js';
import type { KernelResult } from '../run.js';

export function jsonReport(results: KernelResult[]): string {
  return `${JSON.stringify({ results }, null, 2)}\n`;
}

export async function writeJsonReport(file: string, results: KernelResult[]): Promise<void> {
  await writeFileAtomic(file, jsonReport(results));
}
