// The set-up step: find which host tools are missing and install their Debian packages when
// we may (root, or password-less sudo); otherwise stop with the exact apt-get line.
import { execa } from 'execa';
import { HarnessError } from '../errors.js';
import type { Emit } from '../events.js';
import { findTool, HOST_TOOLS, type HostTool } from './tools.js';

/** Packages needed beyond the tools' own: libc.a for static tests. */
const EXTRA_PACKAGES = ['libc6-dev'];

export async function missingPackages(tools: HostTool[] = Object.keys(HOST_TOOLS) as HostTool[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const tool of tools) if (!(await findTool(tool))) missing.add(HOST_TOOLS[tool]);
  // libc6-dev: static linking needs libc.a, which gcc alone does not bring.
  const libcA = await execa('gcc', ['-print-file-name=libc.a'], { reject: false });
  if (libcA.exitCode !== 0 || libcA.stdout.trim() === 'libc.a') for (const p of EXTRA_PACKAGES) missing.add(p);
  return [...missing].sort();
}

export function aptInstallLine(packages: string[]): string {
  return `sudo apt-get install -y ${packages.join(' ')}`;
}

async function canSudo(): Promise<boolean> {
  const r = await execa('sudo', ['-n', 'true'], { reject: false, stdin: 'ignore' }).catch(() => undefined);
  return r?.exitCode === 0;
}

export async function ensureHostPackages(emit: Emit, options: { install?: boolean } = {}): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (options.install === false || (!isRoot && !(await canSudo()))) {
    throw new HarnessError('E_HOST_PACKAGES', 'infra-error', `missing host packages: ${missing.join(', ')}`, { fix: aptInstallLine(missing) });
  }
  emit({ type: 'info', message: `installing host packages: ${missing.join(' ')}` });
  const prefix = isRoot ? [] : ['sudo', '-n'];
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...prefix, 'apt-get', ...args] as [string, ...string[]];
    return execa(cmd, rest, { env, reject: false, all: true, stdin: 'ignore' });
  };
  let result = await run(['install', '-y', '-q', '--no-install-recommends', ...missing]);
  if (result.exitCode !== 0) {
    // A fresh machine may have no package lists yet.
    await run(['update', '-q']);
    result = await run(['install', '-y', '-q', '--no-install-recommends', ...missing]);
  }
  if (result.exitCode !== 0) {
    throw new HarnessError('E_HOST_PACKAGES', 'infra-error', `apt-get could not install ${missing.join(' ')}`, {
      fix: `run '${aptInstallLine(missing)}' and read apt's message`,
      detail: String(result.all ?? '').slice(-4000),
    });
  }
}
