// Builds an out-of-tree module with the kernel's own kbuild, in a copy of the module dir so
// the user's tree never gets build products.
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BuildError, UsageError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { killOnTeardown } from '../lifecycle.js';
import { formatDiagnostic, parseDiagnostics } from './diagnostics.js';

export interface BuiltModule {
  /** .ko files in load order (modules.order), with debug info for symbolising traces. */
  kos: string[];
  /** The same modules without debug info: what is uploaded to the guest (a tenth of the bytes). */
  strippedKos: string[];
  /** Module names as the kernel knows them, same order. */
  names: string[];
  log: string;
}

export async function checkModuleDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UsageError(`module directory '${dir}' does not exist`, { fix: 'pass --module DIR, a directory with a Kbuild or Makefile declaring obj-m' });
  }
  const names = await readdir(dir);
  if (!names.includes('Kbuild') && !names.includes('Makefile')) {
    throw new UsageError(`module directory '${dir}' has neither a Kbuild nor a Makefile`, { fix: "add a Kbuild file with 'obj-m := <name>.o'" });
  }
}

async function findKos(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith('.ko')).map((e) => path.join(dir, e));
}

/** Order .ko files as kbuild's modules.order lists them (it lists .o or .ko, by kernel version). */
function loadOrder(kos: string[], modulesOrder: string): string[] {
  const order = modulesOrder.split('\n').map((l) => path.basename(l.trim()).replace(/\.(o|ko)$/, ''));
  const rank = (ko: string) => {
    const i = order.indexOf(path.basename(ko, '.ko'));
    return i < 0 ? order.length : i;
  };
  return [...kos].sort((a, b) => rank(a) - rank(b));
}

export async function buildModule(options: { sourceDir: string; buildDir: string; headersDir: string; makeArgs?: string[]; signal?: AbortSignal }): Promise<BuiltModule> {
  await checkModuleDir(options.sourceDir);
  const make = await requireTool('make');
  await cp(options.sourceDir, options.buildDir, { recursive: true, filter: (src) => !/\.(o|ko|mod|cmd)$/.test(src) });
  // __FILE__ (WARN_ON, BUG_ON) and debug info name the user's source, not the build copy.
  const prefixMap = `KCFLAGS=-ffile-prefix-map=${options.buildDir}/=${path.resolve(options.sourceDir)}/`;
  const result = await killOnTeardown(execa(make, ['-C', options.headersDir, `M=${options.buildDir}`, prefixMap, '-j2', ...(options.makeArgs ?? []), 'modules'], {
    all: true,
    reject: false,
    detached: true,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  }));
  const log = result.all ?? '';
  const diagnostics = parseDiagnostics(log, [{ from: options.buildDir, to: path.resolve(options.sourceDir) }], options.buildDir);
  if (result.exitCode !== 0) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    throw new BuildError(first ? `module build failed: ${formatDiagnostic(first)}` : `module build failed (make exit ${result.exitCode})`, diagnostics, log, {
      fix: first ? `fix ${first.file}:${first.line}` : 'see the build log',
    });
  }
  const kos = await findKos(options.buildDir);
  if (kos.length === 0) throw new BuildError(`module build produced no .ko in ${options.sourceDir}`, diagnostics, log, { fix: "declare the module in Kbuild with 'obj-m := <name>.o'" });
  const ordered = loadOrder(kos, await readFile(path.join(options.buildDir, 'modules.order'), 'utf8').catch(() => ''));
  const strip = await requireTool('strip');
  const strippedDir = path.join(options.buildDir, '.upload');
  await mkdir(strippedDir, { recursive: true });
  const strippedKos = await Promise.all(
    ordered.map(async (ko) => {
      const out = path.join(strippedDir, path.basename(ko));
      await execa(strip, ['--strip-debug', '-o', out, ko]);
      return out;
    }),
  );
  return { kos: ordered, strippedKos, names: ordered.map((k) => path.basename(k, '.ko').replace(/-/g, '_')), log };
}
