// A vitest globalSetup that boots one VM per kernel of the config for the whole run and hands
// them to test files (useKernels() picks them up), then powers them all off at the end:
//   test: { globalSetup: ['kmod-harness/vitest/global-setup'] }
import type { TestProject } from 'vitest/node';
import { runSettings } from '../config/settings.js';
import type { HarnessEvent } from '../events.js';
import { ensureHostPackages } from '../host/setup.js';
import { bootSlots } from './slots.js';
import './kernels.js';

function log(event: HarnessEvent): void {
  if (event.type !== 'info' && event.type !== 'warn') return;
  process.stderr.write(`[kmod-harness]${event.series ? ` [${event.series}]` : ''} ${event.type === 'warn' ? 'warning: ' : ''}${event.message}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const settings = await runSettings({}, project.config.root);
  if (settings.configFile) log({ type: 'info', message: `config: ${settings.configFile}` });
  await ensureHostPackages(log);
  const { slots, close } = await bootSlots(settings, log);
  project.provide('kmodHarness', { settings, slots });
  return close;
}
