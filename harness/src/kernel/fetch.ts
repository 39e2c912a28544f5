// Fills one cache entry: download a candidate's .debs (next variant on a 404), unpack, drop the .debs.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Emit } from '../events.js';
import { formatDecimal } from '../util/format.js';
import { download, downloadedName, type AptState, type DownloadFailure } from '../debian/apt.js';
import { expand, type SeriesSpec } from './catalogue.js';
import { ROOT_DIR, writeMetadata } from './entry.js';
import type { Candidate } from './packages-index.js';
import { unpackKernel } from './unpack.js';

/** Thrown by a fill when no candidate of its version could be downloaded: try an older version. */
export class CandidatesUnavailable extends Error {
  constructor(readonly failures: DownloadFailure[]) {
    super(failures.map((f) => `${f.name}=${f.version}: ${f.reason}`).join('; '));
  }
}

/**
 * Fill `dir` (to be published as `finalDir`) from the first candidate of `group` whose
 * packages all download. `failed` carries name=version pairs known to fail across groups.
 */
export async function fillEntry(
  dir: string,
  finalDir: string,
  spec: SeriesSpec,
  group: Candidate[],
  states: { states: Map<string, AptState>; hostStates: Map<string, AptState> },
  failed: Map<string, DownloadFailure>,
  options: { emit: Emit; signal?: AbortSignal },
): Promise<Candidate> {
  const { emit, signal } = options;
  const downloads = path.join(dir, 'download');
  await mkdir(downloads, { recursive: true });
  const failures: DownloadFailure[] = [];
  for (const candidate of group) {
    const all = [...candidate.packages, ...(candidate.hostPackages ?? [])];
    const known = all.map((p) => failed.get(`${p.name}=${p.version}`)).filter((f): f is DownloadFailure => f !== undefined);
    if (known.length > 0) {
      failures.push(...known);
      continue;
    }
    const state = states.states.get(candidate.suite.suite)!;
    const hostState = states.hostStates.get(candidate.suite.suite);
    const total = all.reduce((sum, p) => sum + p.size, 0);
    const hostNote = candidate.hostPackages?.length ? ` and the host's ${candidate.hostPackages.map((p) => p.name).join(', ')}` : '';
    emit({
      type: 'info',
      kernel: spec.series,
      message: `downloading ${candidate.release} (${candidate.version}) from ${candidate.suite.suite}: ${candidate.packages.map((p) => p.name).join(', ')}${hostNote} (${formatDecimal(total, 'MB')})`,
    });
    const progress = (done: number, of: number): void =>
      emit({ type: 'progress', stage: 'kernel', kernel: spec.series, what: candidate.release, done, total: of });
    const missing = await download(state, candidate.packages, downloads, signal, progress, emit);
    if (missing.length === 0 && candidate.hostPackages?.length) {
      if (!hostState) throw new Error(`no ${candidate.suite.suite} host state for ${spec.series}'s host packages`);
      missing.push(...(await download(hostState, candidate.hostPackages, downloads, signal, undefined, emit)));
    }
    if (missing.length > 0) {
      for (const f of missing) {
        failed.set(`${f.name}=${f.version}`, f);
        emit({
          type: 'warn',
          kernel: spec.series,
          message: `${f.name}=${f.version} from ${candidate.suite.suite} is unavailable (${f.reason}); trying the next candidate`,
        });
      }
      failures.push(...missing);
      continue;
    }
    emit({ type: 'info', kernel: spec.series, message: `unpacking ${candidate.release} and running depmod` });
    // Biggest first, so the parallel extraction does not end waiting on one large package.
    const debs = [...all].sort((a, b) => b.size - a.size).map((p) => path.join(downloads, downloadedName(p)));
    const vars = { abi: candidate.abi, flavour: spec.flavour };
    const layout = { vmlinuz: expand(spec.layout.vmlinuz, vars), modules: expand(spec.layout.modules, vars) };
    const unpacked = await unpackKernel(debs, path.join(dir, ROOT_DIR), path.join(finalDir, ROOT_DIR), candidate.release, layout, spec.arch, signal);
    await rm(downloads, { recursive: true, force: true });
    const packages = all.map((p) => ({ name: p.name, version: p.version, suite: candidate.suite.suite }));
    await writeMetadata(dir, finalDir, { series: spec.series, release: candidate.release, arch: spec.arch, packages, ...unpacked }, candidate.version);
    return candidate;
  }
  throw new CandidatesUnavailable(failures);
}
