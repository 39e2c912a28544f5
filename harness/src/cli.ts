#!/usr/bin/env node
// Entry point of the kmod-harness command: signal and crash handling and error printing around
// program().
import { asHarnessError } from './errors.js';
import { installCrashHandlers, installSignalHandlers, runAllTeardowns } from './util/lifecycle.js';
import { program } from './program.js';

async function main(): Promise<void> {
  installSignalHandlers();
  // Here, not in the library: a crash of a process that only imports the harness is its own.
  installCrashHandlers();
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
