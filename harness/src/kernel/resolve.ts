// Reads each catalogue suite's private index and merges their candidates; an unreadable suite does not stop the rest.
import { KernelFetchError } from '../errors.js';
import { readJsonOr, writeFileAtomic } from '../util/files.js';
import type { Emit } from '../events.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { aptState, ensureLists, listFiles, readIndex, type AptState } from '../debian/apt.js';
import type { SeriesSpec, SuiteRef } from './catalogue.js';
import { archiveUri, type Mirrors } from '../debian/mirror.js';
import { orderCandidates, PackageIndex, resolveSuite, withHostTools, type Candidate, type SuiteResolution } from './packages-index.js';
import { hostArch } from '../arch.js';

/**
 * resolveSuite over the suite's index, remembered beside the index: reading a 20 MB index
 * costs a quarter second on every warm run, and the answer only changes when the index files
 * or the series' catalogue entry do.
 */
async function resolveSuiteMemo(spec: SeriesSpec, suite: SuiteRef, state: AptState, host: AptState | undefined): Promise<SuiteResolution> {
  const files = [...(await listFiles(state)), ...(host ? await listFiles(host) : [])];
  const stamps = await Promise.all(
    files.map(async (f) => {
      const info = await stat(f);
      return `${path.basename(f)}:${info.size}:${info.mtimeMs}`;
    }),
  );
  const key = JSON.stringify({ spec, suite, stamps });
  const memo = path.join(state.dir, `resolved-${spec.series.replaceAll('/', '_')}.json`);
  const cached = await readJsonOr<{ key: string; resolution: SuiteResolution }>(memo);
  if (cached?.key === key) return cached.resolution;
  let resolution = resolveSuite(spec, suite, new PackageIndex(await readIndex(state)));
  if (host) resolution = withHostTools(resolution, new PackageIndex(await readIndex(host, 'Package: linux-kbuild-')), host.arch);
  await writeFileAtomic(memo, JSON.stringify({ key, resolution }));
  return resolution;
}

export interface Resolution {
  candidates: Candidate[];
  /** Apt state of each suite that was read, by suite name, for downloading. */
  states: Map<string, AptState>;
  /** For a kernel of another architecture: the host architecture's state of each suite (its kbuild). */
  hostStates: Map<string, AptState>;
  /** Suites that could not be read. */
  errors: KernelFetchError[];
  /** Whether every readable suite's index was downloaded during this call. */
  fresh: boolean;
  rejected: string[];
}

export async function resolveSeries(
  spec: SeriesSpec,
  mirrors: Mirrors,
  cacheRoot: string,
  options: { emit: Emit; signal?: AbortSignal; listsMaxAgeMs?: number },
): Promise<Resolution> {
  // Suites have separate apt states, so their updates run side by side.
  const results = await Promise.all(
    spec.suites.map(async (suite) => {
      try {
        const mirror = archiveUri(mirrors, suite.archive);
        const state = aptState(cacheRoot, suite, mirror, spec.arch);
        const host = spec.arch === hostArch() ? undefined : aptState(cacheRoot, suite, mirror, hostArch());
        const ensure = (s: AptState): Promise<boolean> =>
          ensureLists(s, {
            emit: options.emit,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.listsMaxAgeMs !== undefined ? { maxAgeMs: options.listsMaxAgeMs } : {}),
          });
        const [updated, hostUpdated] = await Promise.all([ensure(state), host ? ensure(host) : true]);
        return { state, host, updated: updated && hostUpdated, ...(await resolveSuiteMemo(spec, suite, state, host)) };
      } catch (error) {
        if (!(error instanceof KernelFetchError)) throw error;
        options.emit({ type: 'warn', kernel: spec.series, message: `${error.message}${error.fix ? ` (${error.fix})` : ''}` });
        return error;
      }
    }),
  );
  const perSuite: Candidate[][] = [];
  const states = new Map<string, AptState>();
  const hostStates = new Map<string, AptState>();
  const errors: KernelFetchError[] = [];
  const rejected: string[] = [];
  let fresh = true;
  for (const result of results) {
    if (result instanceof KernelFetchError) {
      errors.push(result);
      continue;
    }
    fresh &&= result.updated;
    states.set(result.state.suite.suite, result.state);
    if (result.host) hostStates.set(result.host.suite.suite, result.host);
    perSuite.push(result.candidates);
    rejected.push(...result.rejected);
  }
  return { candidates: orderCandidates(perSuite), states, hostStates, errors, rejected, fresh };
}

/** Candidates grouped by image version (one cache entry each), newest first. */
export function byVersion(candidates: Candidate[]): Candidate[][] {
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) groups.set(c.version, [...(groups.get(c.version) ?? []), c]);
  return [...groups.values()];
}
