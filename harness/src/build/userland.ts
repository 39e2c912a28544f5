// Builds the userland test as a static binary (the guest has no libc): a single C file with
// gcc, or a directory with a Makefile that honours OUT=<path of the binary>. Either way
// <kmod-harness/ktest.h> (userland/include) is on the include path.
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BuildError, UsageError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { isForeign, type Arch } from '../arch.js';
import { killOnTeardown } from '../util/lifecycle.js';
import { TEST_INCLUDE_DIR } from '../util/paths.js';
import { formatDiagnostic, parseDiagnostics } from './diagnostics.js';

export interface BuiltTest {
  binary: string;
  /** Expected kernel-log lines (expected.kmsg beside the test), if the test has them. */
  expectedKmsg: string | undefined;
  log: string;
}

async function kind(p: string): Promise<'dir' | 'file' | undefined> {
  const info = await stat(p).catch(() => undefined);
  return info?.isDirectory() ? 'dir' : info?.isFile() ? 'file' : undefined;
}

/**
 * Puts the test headers on a Makefile build's include path without touching its flags: gcc
 * searches C_INCLUDE_PATH after every -I (the test's own headers win) and before the system's;
 * KMOD_HARNESS_INCLUDE names the directory for a Makefile that passes it itself.
 */
export function includeEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const inherited = env.C_INCLUDE_PATH;
  return {
    C_INCLUDE_PATH: inherited ? `${inherited}${path.delimiter}${TEST_INCLUDE_DIR}` : TEST_INCLUDE_DIR,
    KMOD_HARNESS_INCLUDE: TEST_INCLUDE_DIR,
  };
}

/** A test is a .c file or a directory with a Makefile; anything else is the user's to fix. */
export async function checkTestSource(source: string): Promise<'file' | 'dir'> {
  const what = await kind(source);
  if (!what) throw new UsageError(`test '${source}' does not exist`, { fix: 'pass --test FILE.c or --test DIR (a directory with a Makefile)' });
  if (what === 'file' && !source.endsWith('.c'))
    throw new UsageError(`test '${source}' is not a .c file`, { fix: 'pass a C source file or a directory with a Makefile' });
  if (what === 'dir' && (await kind(path.join(source, 'Makefile'))) !== 'file') {
    throw new UsageError(`test directory '${source}' has no Makefile`, {
      fix: 'add a Makefile that builds a static binary at $(OUT), or pass a single .c file',
    });
  }
  return what;
}

/**
 * The compiler of the test for a guest of `arch`: the host's gcc, or its cross gcc for a foreign
 * guest. A Makefile build gets it as CC= on make's command line, which overrides the Makefile's.
 */
async function testCompiler(arch: Arch): Promise<{ gcc: string; makeVars: string[] }> {
  if (!isForeign(arch)) return { gcc: await requireTool('gcc'), makeVars: [] };
  const gcc = await requireTool('aarch64-linux-gnu-gcc');
  return { gcc, makeVars: [`CC=${gcc}`] };
}

/** A static link that found no libc.a: name the package that has it. */
function libcFix(log: string, arch: Arch): string | undefined {
  if (!/cannot find -lc\b/.test(log)) return undefined;
  return `the static test needs libc.a for ${arch}: sudo apt-get install -y ${isForeign(arch) ? 'libc6-dev-arm64-cross' : 'libc6-dev'}`;
}

export async function buildTest(options: { source: string; buildDir: string; arch?: Arch; signal?: AbortSignal }): Promise<BuiltTest> {
  const source = path.resolve(options.source);
  const arch = options.arch ?? 'amd64';
  const compiler = await testCompiler(arch);
  const what = await checkTestSource(source);
  const binary = path.join(options.buildDir, 'out', 'test');
  let argv: string[];
  let pathMap: Array<{ from: string; to: string }>;
  let expectedFile: string;
  let env: Record<string, string> = {};
  if (what === 'file') {
    argv = [compiler.gcc, '-static', '-O2', '-g', '-Wall', '-Wextra', `-I${TEST_INCLUDE_DIR}`, '-o', binary, source];
    pathMap = [];
    expectedFile = source.replace(/\.c$/, '.kmsg');
    await cp(source, path.join(options.buildDir, 'src', path.basename(source)));
  } else {
    const copy = path.join(options.buildDir, 'src');
    await cp(source, copy, { recursive: true });
    argv = [await requireTool('make'), '-C', copy, `OUT=${binary}`, `O=${path.dirname(binary)}`, ...compiler.makeVars];
    env = includeEnv();
    pathMap = [{ from: copy, to: source }];
    expectedFile = path.join(source, 'expected.kmsg');
  }
  await mkdir(path.dirname(binary), { recursive: true });
  const [cmd, ...args] = argv as [string, ...string[]];
  const result = await killOnTeardown(
    execa(cmd, args, { all: true, reject: false, detached: true, cwd: options.buildDir, env, ...(options.signal ? { cancelSignal: options.signal } : {}) }),
    options.signal,
  );
  // Cancelled or out of time (a stage deadline): that is the outcome, not the killed make's status.
  options.signal?.throwIfAborted();
  const log = result.all ?? '';
  if (result.exitCode !== 0) {
    const diagnostics = parseDiagnostics(log, pathMap, pathMap[0]?.from ?? options.buildDir);
    const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    throw new BuildError(first ? `test build failed: ${formatDiagnostic(first)}` : `test build failed (exit ${result.exitCode})`, diagnostics, log, {
      fix: libcFix(log, arch) ?? (first ? `fix ${first.file}:${first.line}` : 'see the build log'),
    });
  }
  if ((await kind(binary)) !== 'file') {
    throw new BuildError(`the test's Makefile did not produce ${binary}`, [], log, { fix: 'make the Makefile honour OUT=<path> (or O=<dir>) for its binary' });
  }
  const expectedKmsg = await readFile(expectedFile, 'utf8').catch(() => undefined);
  return { binary, expectedKmsg, log };
}
