// Finds the Debian and security archive URIs in this machine's apt sources, so no mirror host is built in.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { KernelFetchError } from '../errors.js';
import { field, parseDeb822 } from './deb822.js';

export type Archive = 'debian' | 'debian-security';

export interface SourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** The file it came from, for messages. */
  file: string;
}

export interface ArchiveSource {
  uri: string;
  /** Where the URI came from: a sources file, an environment variable, or a derivation. */
  from: string;
}

export type Mirrors = Partial<Record<Archive, ArchiveSource>>;

/** Reads apt's config files; injectable so the parser is tested on captured texts. */
export interface SourcesReader {
  readFile(file: string): Promise<string | undefined>;
  readDir(dir: string): Promise<string[]>;
}

export const fsReader: SourcesReader = {
  readFile: (file) => readFile(file, 'utf8').catch(() => undefined),
  readDir: (dir) => readdir(dir).catch(() => []),
};

const words = (value: string | undefined): string[] => (value ?? '').split(/\s+/).filter(Boolean);

/** Entries of a deb822 `.sources` file; `Enabled: no` stanzas are left out as apt does. */
export function parseSourcesFile(text: string, file: string): SourceEntry[] {
  return parseDeb822(text)
    .filter((s) => (field(s, 'Enabled') ?? 'yes').toLowerCase() !== 'no')
    .map((s) => ({
      types: words(field(s, 'Types')),
      uris: words(field(s, 'URIs')),
      suites: words(field(s, 'Suites')),
      components: words(field(s, 'Components')),
      file,
    }));
}

/** Entries of a one-line `sources.list` file: `deb [opts] URI SUITE COMPONENT...`. */
export function parseSourcesList(text: string, file: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    // Options may hold spaces inside the brackets; drop them whole, nothing here needs them.
    const tokens = line
      .replace(/\[[^\]]*\]/, ' ')
      .split(/\s+/)
      .filter(Boolean);
    const [type, uri, suite, ...components] = tokens;
    if (!type || !uri || !suite) continue;
    entries.push({ types: [type], uris: [uri], suites: [suite], components, file });
  }
  return entries;
}

// Debian release codenames and aliases; a suite is Debian's when it is one of these, possibly
// with a pocket suffix. This is what tells Debian's entry from a third-party repository's.
const CODENAMES = ['buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke', 'sid', 'oldoldstable', 'oldstable', 'stable', 'testing', 'unstable'];
const DEBIAN_SUITE = new RegExp(`^(${CODENAMES.join('|')})(-(updates|backports|backports-sloppy|proposed-updates))?$`);
const SECURITY_SUITE = new RegExp(`^(${CODENAMES.join('|')})(-security|/updates)$`);

const trimSlash = (uri: string): string => uri.replace(/\/+$/, '');

/** The first binary, main-component entry serving a Debian suite, and the first serving a security suite. */
export function pickArchives(entries: SourceEntry[]): Mirrors {
  const mirrors: Mirrors = {};
  for (const entry of entries) {
    if (!entry.types.includes('deb') || !entry.components.includes('main')) continue;
    const uri = entry.uris.find((u) => !u.startsWith('cdrom:'));
    if (!uri) continue;
    if (!mirrors['debian-security'] && entry.suites.some((s) => SECURITY_SUITE.test(s))) {
      mirrors['debian-security'] = { uri: trimSlash(uri), from: entry.file };
    } else if (!mirrors.debian && entry.suites.some((s) => DEBIAN_SUITE.test(s))) {
      mirrors.debian = { uri: trimSlash(uri), from: entry.file };
    }
  }
  return mirrors;
}

/** All entries apt would read, in apt's order: sources.list, then sources.list.d/ sorted. */
export async function readAptSources(reader: SourcesReader = fsReader, etcApt = '/etc/apt'): Promise<SourceEntry[]> {
  const entries: SourceEntry[] = [];
  const main = path.join(etcApt, 'sources.list');
  const mainText = await reader.readFile(main);
  if (mainText !== undefined) entries.push(...parseSourcesList(mainText, main));
  const partsDir = path.join(etcApt, 'sources.list.d');
  for (const name of (await reader.readDir(partsDir)).sort()) {
    const file = path.join(partsDir, name);
    // apt ignores files with any other extension (e.g. `.disabled`), and so do we.
    if (!name.endsWith('.list') && !name.endsWith('.sources')) continue;
    const text = await reader.readFile(file);
    if (text === undefined) continue;
    entries.push(...(name.endsWith('.sources') ? parseSourcesFile(text, file) : parseSourcesList(text, file)));
  }
  return entries;
}

/**
 * The archive URIs to use: KMOD_HARNESS_MIRROR / KMOD_HARNESS_SECURITY_MIRROR win, then the
 * machine's apt sources. With no security entry, a mirror laid out as `.../debian` is assumed to
 * serve `.../debian-security` beside it, the usual layout of Debian mirrors.
 */
export async function findMirrors(env: NodeJS.ProcessEnv = process.env, reader: SourcesReader = fsReader, etcApt = '/etc/apt'): Promise<Mirrors> {
  const fromEnv: Mirrors = {};
  if (env.KMOD_HARNESS_MIRROR) fromEnv.debian = { uri: trimSlash(env.KMOD_HARNESS_MIRROR), from: 'KMOD_HARNESS_MIRROR' };
  if (env.KMOD_HARNESS_SECURITY_MIRROR) {
    fromEnv['debian-security'] = { uri: trimSlash(env.KMOD_HARNESS_SECURITY_MIRROR), from: 'KMOD_HARNESS_SECURITY_MIRROR' };
  }
  const found = fromEnv.debian && fromEnv['debian-security'] ? {} : pickArchives(await readAptSources(reader, etcApt));
  const mirrors: Mirrors = { ...found, ...fromEnv };
  if (!mirrors['debian-security'] && mirrors.debian && /\/debian$/.test(mirrors.debian.uri)) {
    mirrors['debian-security'] = { uri: `${mirrors.debian.uri}-security`, from: `derived from ${mirrors.debian.from}` };
  }
  return mirrors;
}

/** The URI serving `archive`, or a KernelFetchError saying how to provide one. */
export function archiveUri(mirrors: Mirrors, archive: Archive): ArchiveSource {
  const source = mirrors[archive];
  if (source) return source;
  const variable = archive === 'debian' ? 'KMOD_HARNESS_MIRROR' : 'KMOD_HARNESS_SECURITY_MIRROR';
  throw new KernelFetchError(`no ${archive} archive found in the apt sources under /etc/apt`, {
    fix: `set ${variable} to the URI of a ${archive} mirror (the URI part of an apt sources line)`,
  });
}

/** One suite of an archive, as the harness fetches its indexes. */
export interface SuiteRef {
  suite: string;
  archive: Archive;
  /** false for suites whose Release file the mirror lets expire (sid, forky). */
  checkValidUntil: boolean;
}
