import { describe, expect, it } from 'vitest';
import { KernelFetchError } from '../../../harness/src/errors.js';
import {
  archiveUri,
  findMirrors,
  parseSourcesFile,
  parseSourcesList,
  pickArchives,
  readAptSources,
  type SourcesReader,
} from '../../../harness/src/debian/mirror.js';

// Shaped like a stock Debian 12 debian.sources, with a made-up host.
const DEB822 = `Types: deb
# a snapshot URI in a comment is not a source
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security/
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

const THIRD_PARTY = `Types: deb
URIs: https://vendor.example/node_20.x
Suites: nodistro
Components: main
`;

function reader(files: Record<string, string>): SourcesReader {
  return {
    readFile: async (f) => files[f],
    readDir: async (d) =>
      Object.keys(files)
        .filter((f) => f.startsWith(`${d}/`))
        .map((f) => f.slice(d.length + 1)),
  };
}

describe('parsing apt sources', () => {
  it('reads deb822 stanzas', () => {
    const entries = parseSourcesFile(DEB822, 'debian.sources');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      types: ['deb'],
      uris: ['http://mirror.example/debian'],
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
    });
  });

  it('drops disabled stanzas', () => {
    expect(parseSourcesFile(`Enabled: no\n${DEB822}`, 'x.sources')).toHaveLength(1);
  });

  it('reads one-line entries with options and comments', () => {
    const entries = parseSourcesList(
      '# comment\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib\ndeb-src http://mirror.example/debian bookworm main\n\ndeb http://mirror.example/debian-security bookworm-security main # trailing\n',
      'sources.list',
    );
    expect(entries.map((e) => [e.types[0], e.uris[0], e.suites[0], e.components])).toEqual([
      ['deb', 'http://mirror.example/debian', 'bookworm', ['main', 'contrib']],
      ['deb-src', 'http://mirror.example/debian', 'bookworm', ['main']],
      ['deb', 'http://mirror.example/debian-security', 'bookworm-security', ['main']],
    ]);
  });
});

describe('pickArchives', () => {
  it('finds the Debian and security archives and ignores third-party repositories', () => {
    const entries = [...parseSourcesFile(THIRD_PARTY, 'n.sources'), ...parseSourcesFile(DEB822, 'debian.sources')];
    expect(pickArchives(entries)).toEqual({
      debian: { uri: 'http://mirror.example/debian', from: 'debian.sources' },
      'debian-security': { uri: 'http://mirror.example/debian-security', from: 'debian.sources' },
    });
  });

  it('ignores deb-src and entries without main', () => {
    const entries = parseSourcesList('deb-src http://a.example/debian bookworm main\ndeb http://b.example/debian bookworm contrib\n', 'l');
    expect(pickArchives(entries)).toEqual({});
  });

  it('ignores suites that only look like Debian ones', () => {
    expect(pickArchives(parseSourcesList('deb https://vendor.example/apt cloud-sdk-bookworm main\n', 'l'))).toEqual({});
  });
});

describe('findMirrors', () => {
  it('reads sources.list and sources.list.d in apt order, skipping other extensions', async () => {
    const r = reader({
      '/etc/apt/sources.list.d/vendor.list.disabled': 'deb http://disabled.example/debian bookworm main\n',
      '/etc/apt/sources.list.d/debian.sources': DEB822,
      '/etc/apt/sources.list': 'deb http://first.example/debian bookworm main\n',
    });
    expect((await readAptSources(r)).map((e) => e.uris[0])).toEqual([
      'http://first.example/debian',
      'http://mirror.example/debian',
      'http://mirror.example/debian-security/',
    ]);
    const mirrors = await findMirrors({}, r);
    expect(mirrors.debian?.uri).toBe('http://first.example/debian');
    expect(mirrors['debian-security']?.uri).toBe('http://mirror.example/debian-security');
  });

  it('lets the environment override the sources', async () => {
    const mirrors = await findMirrors(
      { KMOD_HARNESS_MIRROR: 'http://env.example/debian/', KMOD_HARNESS_SECURITY_MIRROR: 'http://env.example/sec' },
      reader({ '/etc/apt/sources.list.d/debian.sources': DEB822 }),
    );
    expect(mirrors).toEqual({
      debian: { uri: 'http://env.example/debian', from: 'KMOD_HARNESS_MIRROR' },
      'debian-security': { uri: 'http://env.example/sec', from: 'KMOD_HARNESS_SECURITY_MIRROR' },
    });
  });

  it('derives the security archive beside a .../debian mirror when no entry names one', async () => {
    const mirrors = await findMirrors({}, reader({ '/etc/apt/sources.list': 'deb http://only.example/debian bookworm main\n' }));
    expect(mirrors['debian-security']).toEqual({ uri: 'http://only.example/debian-security', from: 'derived from /etc/apt/sources.list' });
  });

  it('archiveUri explains how to set a missing archive', async () => {
    const mirrors = await findMirrors({}, reader({}));
    expect(() => archiveUri(mirrors, 'debian')).toThrow(KernelFetchError);
    try {
      archiveUri(mirrors, 'debian-security');
    } catch (error) {
      expect((error as KernelFetchError).fix).toContain('KMOD_HARNESS_SECURITY_MIRROR');
    }
  });
});
