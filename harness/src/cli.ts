#!/usr/bin/env node
// Entry point of the kmod-harness command: signal handling and error printing around program().
import { asHarnessError } from './errors.js';
import { installSignalHandlers, runAllTeardowns } from './lifecycle.js';
import { program } from './program.js';

async function main(): Promise<void> {
  installSignalHandlers();
  try {
    await program().parseAsync(process.argv);
  } catch (error) {
    const e = asHarnessError(error);
    process.stderr.write(`kmod-harness: error: ${e.message}\n${e.fix ? `  fix: ${e.fix}\n` : ''}`);
    process.exitCode = 2;
  } finally {
    await runAllTeardowns();
  }
}

void main();
