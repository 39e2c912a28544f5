// Debian version ordering (Debian Policy 5.6.12), so "newest ABI" means what apt means by it.

interface Parsed {
  epoch: number;
  upstream: string;
  revision: string;
}

function parse(version: string): Parsed {
  const v = version.trim();
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  // No hyphen means a native package: the revision is empty, which sorts like "0".
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Weight of one non-digit character: '~' before everything (even the end), letters before other symbols. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternate non-digit runs (by `order`) and digit runs (numerically). */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = isDigit(a[i]) ? undefined : a[i];
      const bc = isDigit(b[j]) ? undefined : b[j];
      const diff = order(ac) - order(bc);
      if (diff !== 0) return Math.sign(diff);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return Math.sign(firstDiff);
  }
  return 0;
}

/** <0, 0, >0 as `a` is older than, equal to, or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (pa.epoch !== pb.epoch) return Math.sign(pa.epoch - pb.epoch);
  return compareFragment(pa.upstream, pb.upstream) || compareFragment(pa.revision, pb.revision);
}

export type Relation = '<<' | '<=' | '=' | '>=' | '>>';

/** Whether `version` satisfies a Depends constraint such as `(>= 6.1.176-1)`. */
export function satisfies(version: string, relation: Relation, wanted: string): boolean {
  const c = compareVersions(version, wanted);
  switch (relation) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}
