// The Packages index of a Debian archive: its stanzas as packages, their Depends parsed, and
// packages by name with the newest version first. Pure; nothing here is about kernels.
import { field, parseDeb822 } from './deb822.js';
import { compareVersions, satisfies, type Relation } from './debversion.js';

export interface IndexPackage {
  name: string;
  version: string;
  depends: string;
  /** Path below the archive root, e.g. pool/main/l/linux/....deb. */
  filename: string;
  size: number;
  sha256: string | undefined;
}

export interface Dependency {
  name: string;
  relation?: Relation;
  version?: string;
}

/** Packages stanzas -> packages; stanzas lacking Package, Version or Filename are skipped. */
export function parsePackages(text: string): IndexPackage[] {
  const packages: IndexPackage[] = [];
  for (const s of parseDeb822(text)) {
    const name = field(s, 'Package');
    const version = field(s, 'Version');
    const filename = field(s, 'Filename');
    if (!name || !version || !filename) continue;
    packages.push({
      name,
      version,
      depends: [field(s, 'Pre-Depends'), field(s, 'Depends')].filter(Boolean).join(', '),
      filename,
      size: Number(field(s, 'Size') ?? 0),
      sha256: field(s, 'SHA256'),
    });
  }
  return packages;
}

/** `a (>= 1) | b, c:any` -> [[a >= 1, b], [c]]. */
export function parseDepends(text: string): Dependency[][] {
  return text
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean)
    .map((group) =>
      group.split('|').map((alt) => {
        const m = /^\s*([^\s(:[]+)(?::\S+)?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^\s)]+)\s*\))?/.exec(alt);
        if (!m) return { name: alt.trim() };
        // '<' and '>' are obsolete spellings of '<=' and '>='.
        const relation = m[2] === '<' ? '<=' : m[2] === '>' ? '>=' : (m[2] as Relation | undefined);
        return relation ? { name: m[1]!, relation, version: m[3]! } : { name: m[1]! };
      }),
    );
}

/** Packages by name, each list newest version first. */
export class PackageIndex {
  private readonly byName = new Map<string, IndexPackage[]>();

  constructor(packages: IndexPackage[]) {
    for (const p of packages) {
      const list = this.byName.get(p.name) ?? [];
      list.push(p);
      this.byName.set(p.name, list);
    }
    for (const list of this.byName.values()) list.sort((a, b) => compareVersions(b.version, a.version));
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The `prefer`red version if it satisfies `dep`, else the newest that does. */
  pick(name: string, dep?: Omit<Dependency, 'name'>, prefer?: string): IndexPackage | undefined {
    const ok = (this.byName.get(name) ?? []).filter((p) => !dep?.relation || satisfies(p.version, dep.relation, dep.version!));
    return ok.find((p) => p.version === prefer) ?? ok[0];
  }
}
