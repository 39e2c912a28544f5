// `kmod-harness kernels`: the catalogue series as they resolve now (catalogue.ts), then the
// kernels the harness builds from source, built-in and from the config (built.ts).
import { runSettings } from '../../config/settings.js';
import type { Emit } from '../../events.js';
import { allDefinitions } from '../../kernel-build/index.js';
import { formatBuiltKernels, listBuiltKernels } from './built.js';
import { formatKernels, listKernels } from './catalogue.js';

export async function kernelsCommand(options: { offline?: boolean }, emit: Emit, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const offline = options.offline ? { offline: true } : {};
  out.write(formatKernels(await listKernels({ emit, ...offline })));
  // The built-in <series>-debug and the config's kernelBuilds, if a config is found.
  const settings = await runSettings({}).catch(
    (error: Error) => void emit({ type: 'warn', message: `config not read, its kernelBuilds not listed: ${error.message}` }),
  );
  const built = await listBuiltKernels(allDefinitions(settings?.kernelBuilds ?? []), { emit, ...offline });
  out.write(`\n${formatBuiltKernels(built)}`);
}
