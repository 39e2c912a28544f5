import { describe, expect, it } from 'vitest';
import { diagnoseMirror } from '../../../../harness/src/commands/doctor/mirror.js';
import { mirrorOk } from './fixtures.js';

describe('diagnoseMirror', () => {
  const debian = mirrorOk.probes[0]!;
  const security = mirrorOk.probes[1]!;

  it('reports each URI with where it came from and its HTTP status', () => {
    const c = diagnoseMirror(mirrorOk);
    expect(c.summary).toContain('http://mirror.example/debian (/etc/apt/sources.list.d/debian.sources): HTTP 200 for dists/bookworm/Release in 40 ms');
  });

  it('fails on an unreachable main archive, quoting the error, with the network and KMOD_HARNESS_MIRROR as fixes', () => {
    const probe = { ...debian, status: undefined, ms: undefined, error: 'ENOTFOUND: getaddrinfo ENOTFOUND mirror.example' };
    const c = diagnoseMirror({ missing: [], probes: [probe, security] });
    expect(c.status).toBe('fail');
    expect(c.summary).toContain('http://mirror.example/debian (/etc/apt/sources.list.d/debian.sources): ENOTFOUND: getaddrinfo ENOTFOUND mirror.example');
    expect(c.fix).toMatch(/^check the network and proxy .* or set KMOD_HARNESS_MIRROR to the URI of a reachable debian mirror$/);
  });

  it('fails on a 404 of the Release file: the mirror lacks the suite', () => {
    const c = diagnoseMirror({ missing: [], probes: [{ ...debian, status: 404 }, security] });
    expect(c.status).toBe('fail');
    expect(c.summary).toContain('HTTP 404 for dists/bookworm/Release');
    expect(c.fix).toBe('set KMOD_HARNESS_MIRROR to a mirror that serves bookworm');
  });

  it('only warns when just the security archive is unreachable', () => {
    const c = diagnoseMirror({ missing: [], probes: [debian, { ...security, status: undefined, error: 'no answer within 5 s' }] });
    expect(c.status).toBe('warn');
    expect(c.fix).toContain('KMOD_HARNESS_SECURITY_MIRROR');
  });

  it('fails when the apt sources name no Debian archive', () => {
    const c = diagnoseMirror({ missing: ['debian'], probes: [] });
    expect(c.status).toBe('fail');
    expect(c.summary).toBe('no debian archive in the apt sources under /etc/apt');
    expect(c.fix).toMatch(/^set KMOD_HARNESS_MIRROR to the URI of a debian mirror/);
  });

  it('an unchecked URI (not http) is a warning, not a pass', () => {
    const c = diagnoseMirror({ missing: [], probes: [{ ...debian, uri: 'file:/srv/debian', status: undefined, skipped: 'not an http(s) URI, not checked' }] });
    expect(c.status).toBe('warn');
    expect(c.summary).toContain('file:/srv/debian');
  });
});
