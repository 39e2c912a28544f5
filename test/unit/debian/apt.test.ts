import { describe, expect, it } from 'vitest';
import { aptOptions, aptState, downloadedName, parseFetchErrors, sourcesLine, updateError } from '../../../harness/src/debian/apt.js';

const bookworm = aptState(
  '/c',
  { suite: 'bookworm', archive: 'debian', checkValidUntil: true },
  { uri: 'http://mirror.example/debian', from: 'debian.sources' },
);
const sid = aptState('/c', { suite: 'sid', archive: 'debian', checkValidUntil: false }, { uri: 'http://mirror.example/debian', from: 'debian.sources' });
const security = aptState(
  '/c',
  { suite: 'bullseye-security', archive: 'debian-security', checkValidUntil: true },
  { uri: 'http://mirror.example/debian-security', from: 'x' },
);

const optionMap = (argv: string[]): Map<string, string> => {
  const map = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    expect(argv[i]).toBe('-o');
    const [k, ...v] = argv[i + 1]!.split('=');
    map.set(k!, v.join('='));
  }
  return map;
};

describe('private apt state', () => {
  it('lives under <cacheRoot>/apt/<suite>', () => {
    expect(bookworm).toMatchObject({
      dir: '/c/apt/bookworm',
      sourcesFile: '/c/apt/bookworm/sources.list',
      listsDir: '/c/apt/bookworm/lists',
      cacheDir: '/c/apt/bookworm/cache',
    });
  });

  it('has a one-line source signed by the Debian keyring', () => {
    expect(sourcesLine('http://mirror.example/debian', 'bookworm')).toBe(
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian bookworm main\n',
    );
  });

  it('redirects every piece of apt state away from the system', () => {
    const o = optionMap(aptOptions(bookworm, false));
    expect(o.get('Dir::Etc::sourcelist')).toBe('/c/apt/bookworm/sources.list');
    expect(o.get('Dir::Etc::sourceparts')).toBe('/nonexistent');
    expect(o.get('Dir::State::Lists')).toBe('/c/apt/bookworm/lists');
    expect(o.get('Dir::State::status')).toBe('/dev/null');
    expect(o.get('Dir::Cache')).toBe('/c/apt/bookworm/cache');
    expect(o.get('Acquire::Languages')).toBe('none');
    expect(o.get('APT::Architectures')).toBe('amd64');
    expect(o.has('Acquire::Check-Valid-Until')).toBe(false);
    expect(o.has('APT::Sandbox::User')).toBe(false);
  });

  it("an arm64 state is a suite's second state, <suite>.arm64, listing arm64 packages only; amd64 keeps the old path", () => {
    const arm = aptState('/c', { suite: 'bookworm', archive: 'debian', checkValidUntil: true }, { uri: 'http://mirror.example/debian', from: 'x' }, 'arm64');
    expect(arm).toMatchObject({ arch: 'arm64', dir: '/c/apt/bookworm.arm64', listsDir: '/c/apt/bookworm.arm64/lists' });
    expect(arm.lockFile).not.toBe(bookworm.lockFile);
    const o = optionMap(aptOptions(arm, false));
    expect(o.get('APT::Architectures')).toBe('arm64');
    expect(o.get('APT::Architecture')).toBe('arm64');
    expect(bookworm.arch).toBe('amd64');
  });

  it('accepts expired Release files only where the catalogue says so, and keeps root sandbox-free', () => {
    const o = optionMap(aptOptions(sid, true));
    expect(o.get('Acquire::Check-Valid-Until')).toBe('false');
    expect(o.get('APT::Sandbox::User')).toBe('root');
  });
});

describe('parseFetchErrors', () => {
  it('maps each failed .deb to its reason (shape of a real 404)', () => {
    const output = [
      'Err:1 http://mirror.example/debian-security bullseye-security/main amd64 linux-image-5.10.0-46-cloud-amd64-unsigned amd64 5.10.262-1',
      '  404  Not Found [IP: 192.0.2.1 80]',
      'Get:2 http://mirror.example/debian-security bullseye-security/main amd64 linux-image-5.10.0-46-cloud-amd64 amd64 5.10.262-1 [21.5 MB]',
      'E: Failed to fetch http://mirror.example/debian-security/pool/updates/main/l/linux/linux-image-5.10.0-46-cloud-amd64-unsigned_5.10.262-1_amd64.deb  404  Not Found [IP: 192.0.2.1 80]',
      'E: Failed to fetch http://mirror.example/debian/pool/main/e/epoch/pkg_1%3a2.0-1_amd64.deb  Hash Sum mismatch',
    ].join('\n');
    expect([...parseFetchErrors(output)]).toEqual([
      ['linux-image-5.10.0-46-cloud-amd64-unsigned_5.10.262-1_amd64.deb', '404  Not Found'],
      ['pkg_1:2.0-1_amd64.deb', 'Hash Sum mismatch'],
    ]);
  });
});

describe('updateError', () => {
  // apt-get update's output when the mirror refuses connections.
  const refused = [
    'Err:1 http://mirror.example/debian-security bullseye-security InRelease',
    '  Could not connect to mirror.example:80 (192.0.2.1). - connect (111: Connection refused)',
    'Reading package lists...',
    'W: Failed to fetch http://mirror.example/debian-security/dists/bullseye-security/InRelease  Could not connect to mirror.example:80 (192.0.2.1). - connect (111: Connection refused)',
    'W: Some index files failed to download. They have been ignored, or old ones used instead.',
  ].join('\n');

  it('names the mirror, the suite and the variable to set', () => {
    const error = updateError(security, refused);
    expect(error.code).toBe('E_KERNEL_FETCH');
    expect(error.message).toBe('cannot read the package index of bullseye-security from http://mirror.example/debian-security (mirror from x)');
    expect(error.fix).toContain('KMOD_HARNESS_SECURITY_MIRROR');
    expect(error.detail).toContain('Connection refused');
    expect(error.detail).not.toContain('Reading package lists');
  });

  it('points at the catalogue when a Release file has expired', () => {
    const error = updateError(
      bookworm,
      'E: Release file for http://mirror.example/debian/dists/bookworm/InRelease is expired (invalid since 18d 18h 19min 30s). Updates for this repository will not be applied.',
    );
    expect(error.fix).toContain('"checkValidUntil": false for bookworm');
  });
});

describe('downloadedName', () => {
  it("is the pool's file name, with the epoch apt-get download puts back (URL-encoded)", () => {
    expect(downloadedName({ filename: 'pool/main/l/linux/linux-kbuild-6.1_6.1.192-3_amd64.deb', version: '6.1.192-3' })).toBe(
      'linux-kbuild-6.1_6.1.192-3_amd64.deb',
    );
    expect(downloadedName({ filename: 'pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_arm64.deb', version: '1:1.35.0-4+deb12u1+b1' })).toBe(
      'busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb',
    );
  });
});
