// The set-up step: find which host tools are missing and install their Debian packages when
// we may (root, or password-less sudo); otherwise stop with the exact apt-get line.
import { access } from 'node:fs/promises';
import { execa } from 'execa';
import { HarnessError } from '../errors.js';
import type { Emit } from '../events.js';
import { ARM64_TOOLS, debianPackageOf, findTool, HOST_TOOLS, TEST_TOOLS, type AnyTool, type HostTool, type TestTool, type Arm64Tool } from './tools.js';
import { isForeign, type Arch } from '../arch.js';

/** Packages needed beyond the tools' own: libc.a for static tests. */
const EXTRA_PACKAGES = ['libc6-dev'];
/** libc.a of arm64 for the static test of an arm64 guest. */
const ARM64_LIBC_PACKAGE = 'libc6-dev-arm64-cross';

/** Headers a kernel build from source compiles its host tools against (objtool, sign-file). */
export const BUILD_HEADERS: Record<string, string> = {
  '/usr/include/gelf.h': 'libelf-dev',
  '/usr/include/openssl/ssl.h': 'libssl-dev',
};

export interface SetupOptions {
  /** false: never install, only name what is missing. */
  install?: boolean;
  /** Also the tools only the project's own tests use (TEST_TOOLS), and the arm64 guests' (its tests boot some). */
  test?: boolean;
  /** The guest architectures the run has: a foreign one needs ARM64_TOOLS. */
  arches?: readonly Arch[];
}

/** The tools a set-up covers: the harness's own, an arm64 guest's when asked for, and with `test` the test suite's and arm64's too. */
export function toolsFor(options: Pick<SetupOptions, 'test' | 'arches'> = {}): AnyTool[] {
  const tools: AnyTool[] = Object.keys(HOST_TOOLS) as HostTool[];
  const arm64 = options.test === true || (options.arches ?? []).some(isForeign);
  return [...tools, ...(arm64 ? (Object.keys(ARM64_TOOLS) as Arm64Tool[]) : []), ...(options.test ? (Object.keys(TEST_TOOLS) as TestTool[]) : [])];
}

/** Whether `gcc` links statically: -print-file-name echoes the bare name when it finds no libc.a. */
async function hasLibcA(gcc: string): Promise<boolean> {
  const libcA = await execa(gcc, ['-print-file-name=libc.a'], { reject: false }).catch(() => undefined);
  return libcA !== undefined && libcA.exitCode === 0 && libcA.stdout.trim() !== 'libc.a';
}

export async function missingPackages(tools: AnyTool[] = toolsFor()): Promise<string[]> {
  const missing = new Set<string>();
  for (const tool of tools) if (!(await findTool(tool))) missing.add(debianPackageOf(tool));
  // libc6-dev: static linking needs libc.a, which gcc alone does not bring.
  if (!(await hasLibcA('gcc'))) for (const p of EXTRA_PACKAGES) missing.add(p);
  // The same for the arm64 static test: libc6-dev-arm64-cross.
  if (tools.includes('aarch64-linux-gnu-gcc') && !(await hasLibcA('aarch64-linux-gnu-gcc'))) missing.add(ARM64_LIBC_PACKAGE);
  for (const [file, pkg] of Object.entries(BUILD_HEADERS))
    if (
      !(await access(file).then(
        () => true,
        () => false,
      ))
    )
      missing.add(pkg);
  return [...missing].sort();
}

export function aptInstallLine(packages: string[]): string {
  return `sudo apt-get install -y ${packages.join(' ')}`;
}

async function canSudo(): Promise<boolean> {
  const r = await execa('sudo', ['-n', 'true'], { reject: false, stdin: 'ignore' }).catch(() => undefined);
  return r?.exitCode === 0;
}

export async function ensureHostPackages(emit: Emit, options: SetupOptions = {}): Promise<void> {
  const missing = await missingPackages(toolsFor(options));
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
