// The guest's userland for an architecture the host cannot run (arm64 on amd64): busybox,
// dropbear and sftp-server from that architecture's Debian packages, with the shared libraries
// their ELF headers name, unpacked once into <cacheRoot>/guest-userland/<suite>.<arch>/.
import { lstat, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ARCH_FACTS, type Arch } from '../arch.js';
import { cachedDir } from '../cache/store.js';
import { aptState, download, ensureLists, readIndex } from '../debian/apt.js';
import { archiveUri, findMirrors, type SuiteRef } from '../debian/mirror.js';
import { PackageIndex, parseDepends, type IndexPackage } from '../debian/packages.js';
import { HarnessError } from '../errors.js';
import type { Emit } from '../events.js';
import { loadCatalogue } from '../kernel/catalogue.js';
import { extractDebs } from '../kernel/unpack.js';
import { readJsonOr } from '../util/files.js';
import { elfInterpreter, elfNeeded } from './elf.js';

export const GUEST_USERLAND_AREA = 'guest-userland';
const ROOT_DIR = 'root';
const METADATA_FILE = 'userland.json';

/** The programs the guest runs, by package: the same ones the host provides for an amd64 guest. */
const PROGRAMS = { busybox: 'busybox-static', dropbear: 'dropbear-bin', sftpServer: 'openssh-sftp-server' } as const;
/** Where each program is in its package. */
const PROGRAM_PATHS = { busybox: 'bin/busybox', dropbear: 'usr/sbin/dropbear', sftpServer: 'usr/lib/openssh/sftp-server' } as const;
/** Depends followed: shared-library packages only (libc6, libtomcrypt1, zlib1g, ...), not adduser, passwd or perl. */
const LIBRARY_PACKAGE = /^(lib|zlib)/;

export interface GuestProgram {
  /** Absolute path in the userland root. */
  file: string;
  /** Absolute paths in the root of every shared library it needs (and its ELF interpreter), with their guest paths. */
  libraries: Array<{ file: string; guestPath: string }>;
}

export interface GuestUserland {
  arch: Arch;
  suite: string;
  busybox: GuestProgram;
  dropbear: GuestProgram;
  sftpServer: GuestProgram;
  /** name=version of every package unpacked. */
  packages: string[];
  /** The entry's directory: its path names the content (a new fill gets a new name only when removed). */
  dir: string;
}

/** The suite the guest userland comes from: the default series' first suite (bookworm), whose busybox the host has too. */
export function userlandSuite(): SuiteRef {
  const catalogue = loadCatalogue();
  return catalogue.series[catalogue.default]!.suites[0]!;
}

/** The packages to unpack: the programs' packages and, transitively, the library packages they depend on. */
export function userlandClosure(index: PackageIndex, roots: readonly string[]): IndexPackage[] {
  const chosen = new Map<string, IndexPackage>();
  const queue = [...roots];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (chosen.has(name)) continue;
    const p = index.pick(name);
    if (!p) {
      if (roots.includes(name)) throw new HarnessError('E_IMAGE', 'infra-error', `the guest userland's package ${name} is not in the index`);
      continue;
    }
    chosen.set(name, p);
    for (const group of parseDepends(p.depends)) {
      const found = group.find((d) => LIBRARY_PACKAGE.test(d.name) && index.has(d.name));
      if (found) queue.push(found.name);
    }
  }
  return [...chosen.values()];
}

/** Resolve a path in `root` as the guest would, following symlinks (absolute ones inside `root`). */
async function resolveInRoot(root: string, guestPath: string, depth = 0): Promise<string | undefined> {
  if (depth > 16) return undefined;
  const parts = guestPath.split('/').filter(Boolean);
  let current = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = path.posix.join(current, parts[i]!);
    const info = await lstat(path.join(root, next)).catch(() => undefined);
    if (!info) return undefined;
    if (info.isSymbolicLink()) {
      const target = await readlink(path.join(root, next));
      const joined = path.posix.join(target.startsWith('/') ? target : path.posix.join(current, target), ...parts.slice(i + 1));
      return resolveInRoot(root, joined, depth + 1);
    }
    current = next;
  }
  return current;
}

const LIBRARY_DIRS = (triplet: string): string[] => [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib', '/usr/lib'];

/** A program's libraries, by its ELF headers and theirs, found in `root` (the guest's multiarch dirs). */
export async function programLibraries(root: string, file: string, triplet: string): Promise<GuestProgram['libraries']> {
  const found = new Map<string, string>();
  const visit = async (elfFile: string): Promise<void> => {
    const elf = await readFile(elfFile);
    const interpreter = elfInterpreter(elf);
    const wanted: Array<{ guestPath: string; candidates: string[] }> = [
      ...(interpreter ? [{ guestPath: interpreter, candidates: [interpreter] }] : []),
      ...elfNeeded(elf).map((soname) => ({ guestPath: '', candidates: LIBRARY_DIRS(triplet).map((d) => `${d}/${soname}`) })),
    ];
    for (const { guestPath, candidates } of wanted) {
      let resolved: { guest: string; real: string } | undefined;
      for (const candidate of candidates) {
        const real = await resolveInRoot(root, candidate);
        if (real) {
          resolved = { guest: guestPath || candidate, real };
          break;
        }
      }
      if (!resolved) {
        throw new HarnessError(
          'E_IMAGE',
          'infra-error',
          `${path.basename(elfFile)} needs ${candidates[0]}, which no unpacked package of the guest userland has`,
          {
            fix: `a library package is missing from the closure in harness/src/image/guest-userland.ts; remove ${path.dirname(root)} and run again`,
          },
        );
      }
      if (found.has(resolved.guest)) continue;
      found.set(resolved.guest, path.join(root, resolved.real));
      await visit(path.join(root, resolved.real));
    }
  };
  await visit(file);
  return [...found].map(([guestPath, f]) => ({ guestPath, file: f }));
}

interface Metadata {
  suite: string;
  packages: string[];
}

/** The guest userland of `arch`, downloaded and unpacked once. */
export async function prepareGuestUserland(arch: Arch, options: { cacheRoot: string; emit?: Emit; signal?: AbortSignal }): Promise<GuestUserland> {
  const suite = userlandSuite();
  const key = `${suite.suite}.${arch}`;
  const { dir } = await cachedDir(
    GUEST_USERLAND_AREA,
    key,
    async (tmp) => {
      const state = aptState(options.cacheRoot, suite, archiveUri(await findMirrors(), suite.archive), arch);
      await ensureLists(state, { ...(options.emit ? { emit: options.emit } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      const index = new PackageIndex(await readIndex(state, ''));
      const packages = userlandClosure(index, Object.values(PROGRAMS));
      options.emit?.({ type: 'info', message: `guest userland: downloading ${arch} ${packages.map((p) => p.name).join(', ')} from ${suite.suite}` });
      const downloads = path.join(tmp, 'download');
      await mkdir(downloads);
      const missing = await download(state, packages, downloads, options.signal);
      if (missing.length > 0) {
        throw new HarnessError(
          'E_IMAGE',
          'infra-error',
          `cannot download the ${arch} guest userland: ${missing.map((m) => `${m.name}=${m.version}: ${m.reason}`).join('; ')}`,
          {
            fix: 'retry later, or set KMOD_HARNESS_MIRROR to another mirror',
          },
        );
      }
      const debs = (await readdir(downloads)).map((n) => path.join(downloads, n));
      await extractDebs(debs, path.join(tmp, ROOT_DIR), options.signal);
      await rm(downloads, { recursive: true, force: true });
      const metadata: Metadata = { suite: suite.suite, packages: packages.map((p) => `${p.name}=${p.version}`) };
      await writeFile(path.join(tmp, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    },
    options.cacheRoot,
    { what: `the ${arch} guest userland`, ...(options.emit ? { emit: options.emit } : {}), ...(options.signal ? { signal: options.signal } : {}) },
  );
  const metadata = await readJsonOr<Metadata>(path.join(dir, METADATA_FILE));
  if (!metadata)
    throw new HarnessError('E_IMAGE', 'infra-error', `the guest userland at ${dir} has no ${METADATA_FILE}`, {
      fix: 'kmod-harness cache prune, then run again',
    });
  const root = path.join(dir, ROOT_DIR);
  const triplet = ARCH_FACTS[arch].gnuType;
  const program = async (rel: string): Promise<GuestProgram> => {
    const file = path.join(root, rel);
    return { file, libraries: await programLibraries(root, file, triplet) };
  };
  return {
    arch,
    suite: metadata.suite,
    busybox: await program(PROGRAM_PATHS.busybox),
    dropbear: await program(PROGRAM_PATHS.dropbear),
    sftpServer: await program(PROGRAM_PATHS.sftpServer),
    packages: metadata.packages,
    dir,
  };
}
