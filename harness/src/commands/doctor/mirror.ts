// Doctor check `mirror`: the Debian archives the catalogue fetches from, as the apt sources (or
// the environment) name them, each asked for the Release file of a suite it must serve.
import { loadCatalogue } from '../../kernel/catalogue.js';
import { findMirrors, readAptSources, type Archive } from '../../debian/mirror.js';
import { check, errorMessage, type CheckStatus, type DoctorCheck } from './check.js';

export interface MirrorProbe {
  archive: Archive;
  uri: string;
  from: string;
  suite: string | undefined;
  url: string | undefined;
  status?: number;
  error?: string;
  /** Why it was not requested (no suite known, not an http(s) URI): unknown, not failed. */
  skipped?: string;
  ms?: number;
}

export interface MirrorFact {
  probes: MirrorProbe[];
  /** Archives the catalogue uses that neither the apt sources nor the environment provide. */
  missing: Archive[];
}

export const MIRROR_TIMEOUT_MS = 5000;

// ---- gathering -------------------------------------------------------------------------

/** HTTP status of `url` (HEAD, or GET where HEAD is refused), or why there is none. */
async function probeUrl(url: string, timeoutMs: number): Promise<Pick<MirrorProbe, 'status' | 'error' | 'ms'>> {
  const start = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const ms = (): number => Math.round(performance.now() - start);
  try {
    let res = await fetch(url, { method: 'HEAD', signal, redirect: 'follow' });
    if (res.status === 405 || res.status === 501) {
      res = await fetch(url, { signal, redirect: 'follow' });
      await res.body?.cancel();
    }
    return { status: res.status, ms: ms() };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return { error: `no answer within ${timeoutMs / 1000} s`, ms: ms() };
    // undici hides the reason (ENOTFOUND, ECONNREFUSED, a TLS error) in `cause`.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { error: cause ? [cause.code, cause.message].filter(Boolean).join(': ') : errorMessage(error), ms: ms() };
  }
}

export async function gatherMirror(env: NodeJS.ProcessEnv): Promise<MirrorFact> {
  const mirrors = await findMirrors(env);
  // The suites the catalogue fetches, default series first; else the first suite the sources name for that URI.
  const suites: Partial<Record<Archive, string>> = {};
  try {
    const catalogue = loadCatalogue();
    const specs = [catalogue.series[catalogue.default]!, ...Object.values(catalogue.series)];
    for (const ref of specs.flatMap((s) => s.suites)) suites[ref.archive] ??= ref.suite;
  } catch {
    const entries = await readAptSources();
    for (const archive of ['debian', 'debian-security'] as const) {
      const uri = mirrors[archive]?.uri;
      suites[archive] = entries.find((e) => e.uris.some((u) => u.replace(/\/+$/, '') === uri))?.suites[0];
    }
  }
  const wanted = (['debian', 'debian-security'] as const).filter((a) => a === 'debian' || suites[a]);
  const probe = async (archive: Archive): Promise<MirrorProbe | undefined> => {
    const source = mirrors[archive];
    if (!source) return undefined;
    const suite = suites[archive];
    const base: MirrorProbe = { archive, uri: source.uri, from: source.from, suite, url: undefined };
    if (!suite) return { ...base, skipped: 'no suite known to check' };
    if (!/^https?:\/\//.test(source.uri)) return { ...base, skipped: 'not an http(s) URI, not checked' };
    const url = `${source.uri}/dists/${suite}/Release`;
    return { ...base, url, ...(await probeUrl(url, MIRROR_TIMEOUT_MS)) };
  };
  const probes = (await Promise.all(wanted.map(probe))).filter((p): p is MirrorProbe => p !== undefined);
  return { probes, missing: wanted.filter((a) => !mirrors[a]) };
}

// ---- judging ---------------------------------------------------------------------------

const mirrorVariable = (archive: Archive): string => (archive === 'debian' ? 'KMOD_HARNESS_MIRROR' : 'KMOD_HARNESS_SECURITY_MIRROR');

export function diagnoseMirror(fact: MirrorFact): DoctorCheck {
  const parts: string[] = [];
  const fixes: string[] = [];
  let status: CheckStatus = 'ok';
  const worsen = (archive: Archive): void => {
    // Only the main archive is needed by every series; the security one serves some.
    status = archive === 'debian' || status === 'fail' ? 'fail' : 'warn';
  };
  for (const archive of fact.missing) {
    worsen(archive);
    parts.push(`no ${archive} archive in the apt sources under /etc/apt`);
    fixes.push(`set ${mirrorVariable(archive)} to the URI of a ${archive} mirror (the URI part of an apt sources line)`);
  }
  for (const p of fact.probes) {
    const what = `${p.uri} (${p.from})`;
    const target = p.suite ? ` dists/${p.suite}/Release` : '';
    if (p.status !== undefined && p.status >= 200 && p.status < 300) {
      parts.push(`${what}: HTTP ${p.status} for${target} in ${p.ms} ms`);
      continue;
    }
    if (p.skipped) {
      if (status === 'ok') status = 'warn';
      parts.push(`${what}: ${p.skipped}`);
      continue;
    }
    worsen(p.archive);
    if (p.status !== undefined) {
      parts.push(`${what}: HTTP ${p.status} for${target}`);
      fixes.push(`set ${mirrorVariable(p.archive)} to a mirror that serves ${p.suite}`);
    } else {
      parts.push(`${what}: ${p.error ?? 'unreachable'}`);
      fixes.push(
        `check the network and proxy (runs fetch through apt, which honours apt's proxy setting; this check connects directly), or set ${mirrorVariable(p.archive)} to the URI of a reachable ${p.archive} mirror`,
      );
    }
  }
  return check('mirror', status, parts.join('; ') || 'no archive to check', fixes.length > 0 ? [...new Set(fixes)].join('\n') : undefined);
}
