// `kmod-harness setup`: install the Debian packages the harness needs (host/setup.ts), and
// with --test those its own test suite uses.
import type { Emit } from '../events.js';
import { ensureHostPackages } from '../host/setup.js';

export async function setupCommand(options: { test?: boolean }, emit: Emit, err: NodeJS.WritableStream = process.stderr): Promise<void> {
  await ensureHostPackages(emit, { test: options.test === true });
  err.write('host packages: all present\n');
}
