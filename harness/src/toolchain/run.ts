// Runs a build tool (make, strip) with the chosen compiler: on the host, or chrooted into a
// suite root seen through a throw-away overlay, with the kernel's cache entry (read-only) and
// the build dir bind-mounted at their own absolute paths (the headers' Makefiles name them).
import { rmdirSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { crossBinutil, requireTool, type Arm64Tool, type HostTool } from '../host/tools.js';
import { killOnTeardown, onSignalExit } from '../util/lifecycle.js';
import { ToolchainError } from './select.js';

export interface ToolResult {
  /** undefined when killed by a signal. */
  exitCode: number | undefined;
  /** stdout and stderr interleaved. */
  all: string;
}

export interface RunToolOptions {
  /** Absolute directories the command reads or writes besides the kernel's (the build dir). */
  binds: string[];
  signal?: AbortSignal;
  /** Hears the output as it comes (stdout and stderr), e.g. to count a kernel build's objects. */
  onOutput?: (chunk: string) => void;
}

export type ToolName = 'make' | 'strip';

export interface Toolchain {
  kind: 'host' | 'root';
  /** For messages, e.g. 'host gcc-12' or 'gcc-14 14.2.0-19 in a trixie root'. */
  description: string;
  /** Why this toolchain was chosen. */
  reason: string;
  /** Make variables the choice needs on every kbuild call (CC=gcc HOSTCC=gcc; a cross build's ARCH=...), else empty. */
  makeVars: string[];
  /** The cross tools' prefix (`aarch64-linux-gnu-`) for a kernel of another architecture, else ''. strip and addr2line are called with it. */
  crossCompile: string;
  run(tool: ToolName, args: string[], options: RunToolOptions): Promise<ToolResult>;
  /** `make ...`; the caller adds makeVars. */
  make(args: string[], options: RunToolOptions): Promise<ToolResult>;
}

const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ENTER_FAILED = 'kmod-harness: cannot enter the toolchain root';
const ENTER_FAILED_EXIT = 125;

/**
 * The script run by `unshare ... sh -c SCRIPT sh ROOT STAGE {rw|ro} BIND... -- COMMAND...`: a
 * tmpfs on STAGE holds an overlay's upper layer over ROOT, so mount points and the build's
 * temporary files never touch the cached root; binds (an `ro` one remounted read-only: a
 * Makefile that writes into $(KDIR) fails there instead of corrupting the cached kernel for
 * every later build), /dev nodes and a fresh /proc (objtool reads it) go into the overlay;
 * then chroot. Everything lives in the process's own mount namespace and vanishes with it:
 * nothing to unmount, even after SIGKILL.
 */
export const ENTER_ROOT_SCRIPT = [
  `fail() { echo "${ENTER_FAILED}: $*" >&2; exit ${ENTER_FAILED_EXIT}; }`,
  'root=$1 stage=$2',
  'shift 2',
  'mount -t tmpfs -o mode=0755 kmod-harness "$stage" || fail "tmpfs on $stage"',
  'mkdir "$stage/upper" "$stage/work" "$stage/merged" || fail "mkdir in $stage"',
  'new=$stage/merged',
  'mount -t overlay overlay -o "lowerdir=$root,upperdir=$stage/upper,workdir=$stage/work" "$new" || fail "overlay over $root"',
  'while [ "$1" != -- ]; do',
  '  mode=$1 dir=$2',
  '  shift 2',
  '  { mkdir -p "$new$dir" && mount --bind "$dir" "$new$dir"; } || fail "bind $dir"',
  '  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$new$dir" || fail "read-only bind of $dir"; fi',
  'done',
  'shift',
  'for d in null zero full random urandom; do { [ -e "$new/dev/$d" ] || : > "$new/dev/$d"; } && mount --bind "/dev/$d" "$new/dev/$d" || fail "bind /dev/$d"; done',
  'mount -t proc proc "$new/proc" || fail "proc"',
  'exec chroot "$new" "$@"',
].join('\n');

/** A directory bound into a toolchain root at its own path. */
export interface Bind {
  path: string;
  readOnly: boolean;
}

/**
 * Parents before children, no duplicates: a bind inside another must be mounted after it. A
 * directory asked for both read-only and writable is bound writable: some caller writes there.
 */
export function orderBinds(binds: Bind[]): Bind[] {
  const byPath = new Map<string, Bind>();
  for (const b of binds) {
    const p = path.resolve(b.path);
    byPath.set(p, { path: p, readOnly: b.readOnly && (byPath.get(p)?.readOnly ?? true) });
  }
  if (byPath.has('/')) throw new Error('cannot bind-mount / into a toolchain root');
  return [...byPath.values()].sort((a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path));
}

/**
 * argv (after `unshare`) that runs `command` inside `root`. Privileged: a mount and a pid
 * namespace (the pid namespace gives a private /proc and takes every compiler down with its
 * first process). Unprivileged: a user namespace mapping the caller to root as well.
 */
export function enterRootArgs(o: { root: string; stage: string; binds: Bind[]; command: string[]; unprivileged: boolean }): string[] {
  if (/[,:]/.test(o.root) || /[,:]/.test(o.stage)) throw new Error(`toolchain root paths may not contain ',' or ':' (overlay options): ${o.root}, ${o.stage}`);
  return [
    ...(o.unprivileged ? ['--user', '--map-root-user'] : []),
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--kill-child',
    '--',
    'sh',
    '-c',
    ENTER_ROOT_SCRIPT,
    'sh',
    o.root,
    o.stage,
    ...orderBinds(o.binds).flatMap((b) => [b.readOnly ? 'ro' : 'rw', b.path]),
    '--',
    ...o.command,
  ];
}

/**
 * A ToolchainError when the root could not be entered (namespaces refused, a mount failed, the
 * tool missing from the root): an infra-error, not a build failure of the user's module.
 */
export function enterFailure(result: ToolResult, tool: ToolName): ToolchainError | undefined {
  const lines = result.all.split('\n');
  const unshare = lines.find((l) => /^unshare: /.test(l));
  const setup = lines.find((l) => l.startsWith(ENTER_FAILED));
  const chroot = lines.find((l) => /^chroot: /.test(l));
  if (result.exitCode === 0) return undefined;
  // chroot's own failures exit 125-127 (make's are 1-2); a compiler's "chroot:" cannot occur.
  const line = setup ?? unshare ?? (result.exitCode !== undefined && result.exitCode >= 125 ? chroot : undefined);
  if (!line) return undefined;
  const refused = /not permitted|permission denied/i.test(result.all);
  return new ToolchainError(`cannot run ${tool} in the toolchain root: ${line}`, {
    fix: refused
      ? 'building in a toolchain root needs root, or unprivileged user namespaces (sysctl user.max_user_namespaces > 0 and, on Ubuntu, kernel.apparmor_restrict_unprivileged_userns=0)'
      : 'see the detail; removing the root under <cache>/toolchains/ makes it again',
    detail: result.all.slice(-3000),
  });
}

async function execTool(
  file: string,
  args: string[],
  options: { signal?: AbortSignal; env?: Record<string, string>; onOutput?: (chunk: string) => void },
): Promise<ToolResult> {
  // Own process group (detached) so a teardown kills make and every compiler it started.
  const subprocess = execa(file, args, {
    all: true,
    reject: false,
    detached: true,
    stdin: 'ignore',
    ...(options.env ? { env: options.env } : {}),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  if (options.onOutput) subprocess.all?.on('data', (chunk: Buffer) => options.onOutput!(chunk.toString()));
  const result = await killOnTeardown(subprocess, options.signal);
  options.signal?.throwIfAborted();
  return { exitCode: result.exitCode, all: result.all ?? '' };
}

/**
 * The host's own make and binutils. `makeVars` (CC=gcc HOSTCC=gcc) when the headers' gcc-N is
 * not the host's. kbuild runs against the cache entry itself here, which is left writable: as
 * root (CI) mode bits stop nothing, and as a user its directories must stay writable for prune,
 * so new files (all a Makefile's rules make) could be created all the same; an M= build writes
 * nothing there (checked on every cached kernel).
 */
export function hostToolchain(o: { description?: string; reason?: string; makeVars?: string[]; crossCompile?: string } = {}): Toolchain {
  const crossCompile = o.crossCompile ?? '';
  const run = async (tool: ToolName, args: string[], options: RunToolOptions): Promise<ToolResult> =>
    execTool(await requireTool(crossTool(tool, crossCompile)), args, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    });
  return {
    kind: 'host',
    description: o.description ?? 'host gcc',
    reason: o.reason ?? 'it was asked for',
    makeVars: o.makeVars ?? [],
    crossCompile,
    run,
    make: (args, options) => run('make', args, options),
  };
}

/** The host tool that does `tool` for a build with this cross prefix: make is make, strip is `<prefix>strip`. */
export function crossTool(tool: ToolName, crossCompile: string): HostTool | Arm64Tool {
  const found = tool === 'make' ? tool : crossBinutil(tool, crossCompile);
  if (!found) throw new ToolchainError(`no host tool is known for ${crossCompile}${tool}`, { fix: 'use an amd64 or arm64 kernel' });
  return found;
}

/**
 * make and binutils of `root`, with `kernelDir` (the kernel's cache entry) always bound in,
 * read-only: kbuild of an external module (M=) writes only into M=, and a whole kernel is
 * built in a bind of its own (kernel-build/), so no build has to write into a cache entry.
 */
export function rootToolchain(o: {
  root: string;
  kernelDir: string;
  description: string;
  reason: string;
  unprivileged?: boolean;
  makeVars?: string[];
  crossCompile?: string;
}): Toolchain {
  const crossCompile = o.crossCompile ?? '';
  const run = async (tool: ToolName, args: string[], options: RunToolOptions): Promise<ToolResult> => {
    const unshare = await requireTool('unshare');
    await requireTool('chroot');
    const stage = await mkdtemp(path.join(tmpdir(), 'kmod-harness-root-'));
    // A second Ctrl-C exits without this function's finally: the empty mount point goes then.
    const forget = onSignalExit(() => rmdirSync(stage));
    try {
      const argv = enterRootArgs({
        root: o.root,
        stage,
        binds: [{ path: o.kernelDir, readOnly: true }, ...options.binds.map((b) => ({ path: b, readOnly: false }))],
        command: [tool === 'make' ? tool : `${crossCompile}${tool}`, ...args],
        unprivileged: o.unprivileged ?? process.getuid?.() !== 0,
      });
      const result = await execTool(unshare, argv, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
        env: { PATH: CHROOT_PATH },
      });
      const failure = enterFailure(result, tool);
      if (failure) throw failure;
      return result;
    } finally {
      // Only an empty mount point is left on the host: the tmpfs was in the namespace.
      forget();
      await rmdir(stage).catch(() => {});
    }
  };
  return {
    kind: 'root',
    description: o.description,
    reason: o.reason,
    makeVars: o.makeVars ?? [],
    crossCompile,
    run,
    make: (args, options) => run('make', args, options),
  };
}
