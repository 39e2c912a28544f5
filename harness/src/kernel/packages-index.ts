// Resolves a series to complete package sets from a Packages index by following real Depends, newest first.
import { compareVersions } from '../debian/debversion.js';
import { PackageIndex, parseDepends, type IndexPackage } from '../debian/packages.js';
import type { SuiteRef } from '../debian/mirror.js';
import { abiCapture, expand, expandPattern, type SeriesSpec } from './catalogue.js';

export { PackageIndex, parseDepends, parsePackages, type Dependency, type IndexPackage } from '../debian/packages.js';

export interface Candidate {
  suite: SuiteRef;
  abi: string;
  /** uname -r of this kernel: <abi>-<flavour>. */
  release: string;
  /** Version of the image package; names the cache entry. */
  version: string;
  /** The kernel's packages, of its architecture. */
  packages: IndexPackage[];
  /**
   * For a kernel of another architecture than the host's: the host's builds of the packages
   * whose programs kbuild runs on the build machine (HOST_TOOL_PACKAGES), in their place.
   */
  hostPackages?: IndexPackage[];
}

/** Packages whose programs run on the build host, not in the guest: kbuild's fixdep, modpost, objtool. */
export const HOST_TOOL_PACKAGES = /^linux-kbuild-/;

/**
 * A foreign kernel's candidates with HOST_TOOL_PACKAGES swapped for the same name and version
 * from the host's index. A candidate whose version the host's index lacks is dropped (said in
 * `rejected`): the arm64 kbuild's modpost cannot run on an amd64 host.
 */
export function withHostTools(resolution: SuiteResolution, hostIndex: PackageIndex, hostArch: string): SuiteResolution {
  const candidates: Candidate[] = [];
  const rejected = [...resolution.rejected];
  for (const candidate of resolution.candidates) {
    const tools = candidate.packages.filter((p) => HOST_TOOL_PACKAGES.test(p.name));
    const host = tools.map((p) => hostIndex.pick(p.name, { relation: '=', version: p.version }));
    const missing = tools.filter((_, i) => host[i] === undefined);
    if (missing.length > 0) {
      rejected.push(`${candidate.abi} in ${candidate.suite.suite}: no ${hostArch} ${missing.map((p) => `${p.name} (= ${p.version})`).join(', ')}`);
      continue;
    }
    candidates.push({
      ...candidate,
      packages: candidate.packages.filter((p) => !HOST_TOOL_PACKAGES.test(p.name)),
      hostPackages: host as IndexPackage[],
    });
  }
  return { candidates, rejected };
}

export interface SuiteResolution {
  candidates: Candidate[];
  /** Why an ABI found in the index gave no complete set (for error messages). */
  rejected: string[];
}

/** ABI -> newest image version, for every image (or alternative image) name in the index. */
export function findAbis(spec: SeriesSpec, index: PackageIndex): Map<string, string> {
  const image = spec.roots[0]!;
  const patterns = [image, ...(spec.alternatives[image] ?? [])].map((t) => abiCapture(t, spec));
  const abis = new Map<string, string>();
  for (const name of index.names()) {
    for (const re of patterns) {
      const abi = re.exec(name)?.[1];
      if (abi === undefined) continue;
      const version = index.pick(name)!.version;
      const known = abis.get(abi);
      if (!known || compareVersions(version, known) > 0) abis.set(abi, version);
    }
  }
  return abis;
}

/** One complete package set for `abi`, preferring alternative number `variant` (0: the primary names). */
function closure(spec: SeriesSpec, index: PackageIndex, abi: string, variant: number): { packages: IndexPackage[] } | { missing: string } {
  const vars = { abi, flavour: spec.flavour };
  const alternatives = new Map(Object.entries(spec.alternatives).map(([k, v]) => [expand(k, vars), v.map((t) => expand(t, vars))]));
  // The name actually used for `name`: option `variant` of [name, ...alternatives] when present.
  const choose = (name: string): string => {
    const options = [name, ...(alternatives.get(name) ?? [])];
    return [options[variant], ...options].find((o): o is string => o !== undefined && index.has(o)) ?? name;
  };
  const follow = new RegExp(spec.follow);
  const chosen = new Map<string, IndexPackage>();
  const [imageRoot, ...otherRoots] = spec.roots.map((t) => expand(t, vars));
  const image = index.pick(choose(imageRoot!));
  if (!image) return { missing: imageRoot! };
  chosen.set(image.name, image);
  const queue = [image];
  // Other roots (the arch headers) must come from the same source upload as the image.
  for (const root of otherRoots) {
    const p = index.pick(choose(root), { relation: '=', version: image.version });
    if (!p) return { missing: `${root} (= ${image.version})` };
    chosen.set(p.name, p);
    queue.push(p);
  }
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const group of parseDepends(current.depends)) {
      const wanted = group.filter((d) => follow.test(d.name));
      if (wanted.length === 0) continue;
      const found = wanted.map((d) => index.pick(choose(d.name), d, image.version)).find(Boolean);
      if (!found)
        return { missing: `${wanted.map((d) => (d.relation ? `${d.name} (${d.relation} ${d.version})` : d.name)).join(' | ')}, needed by ${current.name}` };
      if (chosen.has(found.name)) continue;
      chosen.set(found.name, found);
      queue.push(found);
    }
  }
  const packages = [...chosen.values()];
  for (const pattern of spec.require) {
    if (!packages.some((p) => expandPattern(pattern, vars).test(p.name))) return { missing: `a package matching ${expand(pattern, vars)}` };
  }
  return { packages };
}

const setKey = (packages: IndexPackage[]): string =>
  packages
    .map((p) => `${p.name}=${p.version}`)
    .sort()
    .join(' ');

/** Every complete package set of `spec` in one suite's index, newest ABI first, variants in preference order. */
export function resolveSuite(spec: SeriesSpec, suite: SuiteRef, index: PackageIndex): SuiteResolution {
  const abis = [...findAbis(spec, index)].sort((a, b) => compareVersions(b[1], a[1]));
  const variants = 1 + Math.max(0, ...Object.values(spec.alternatives).map((a) => a.length));
  const candidates: Candidate[] = [];
  const rejected: string[] = [];
  for (const [abi] of abis) {
    const seen = new Set<string>();
    for (let variant = 0; variant < variants; variant++) {
      const result = closure(spec, index, abi, variant);
      if ('missing' in result) {
        if (variant === 0) rejected.push(`${abi} in ${suite.suite}: no ${result.missing}`);
        continue;
      }
      const key = setKey(result.packages);
      if (seen.has(key)) continue;
      seen.add(key);
      const image = result.packages[0]!;
      candidates.push({ suite, abi, release: `${abi}-${spec.flavour}`, version: image.version, packages: result.packages });
    }
  }
  return { candidates, rejected };
}

/** Candidates of all suites, newest image version first; ties keep catalogue suite order. */
export function orderCandidates(perSuite: Candidate[][]): Candidate[] {
  // Array.prototype.sort is stable, so equal versions stay in suite-then-variant order.
  return perSuite.flat().sort((a, b) => compareVersions(b.version, a.version));
}
