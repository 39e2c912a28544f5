// Test helper: read a kernel-log fixture, drop its `#` header block (where the format came
// from), and parse it with the parser its extension names (.dmesg or .console).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConsole, parseDmesg, type KmsgRecord } from '../../../harness/src/verdict/kmsg.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/kmsg/', import.meta.url));

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.dmesg') || f.endsWith('.console'))
    .sort();
}

/** The fixture split into its leading `#` header lines and the log text after them. */
export function readFixture(name: string): { header: string[]; log: string } {
  const lines = readFileSync(FIXTURE_DIR + name, 'utf8').split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('#')) i++;
  return { header: lines.slice(0, i), log: lines.slice(i).join('\n') };
}

export function loadFixture(name: string): KmsgRecord[] {
  const { log } = readFixture(name);
  return name.endsWith('.console') ? parseConsole(log) : parseDmesg(log);
}
