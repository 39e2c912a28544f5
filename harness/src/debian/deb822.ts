// The deb822 format shared by apt .sources files and Packages indexes: blank-line separated 'Field: value' stanzas.

/** One stanza; field names keep their spelling, look them up with `field()`. */
export type Stanza = Map<string, string>;

/** Parse deb822 text into stanzas. '#' comment lines (allowed in .sources files) are skipped. */
export function parseDeb822(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza | undefined;
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.trim() === '') {
      if (current && current.size > 0) stanzas.push(current);
      current = undefined;
      last = undefined;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && current && last !== undefined) {
      current.set(last, `${current.get(last)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current ??= new Map();
    last = line.slice(0, colon).trim();
    current.set(last, line.slice(colon + 1).trim());
  }
  if (current && current.size > 0) stanzas.push(current);
  return stanzas;
}

/** Field value by case-insensitive name (deb822 field names are case-insensitive). */
export function field(stanza: Stanza, name: string): string | undefined {
  const direct = stanza.get(name);
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [key, value] of stanza) if (key.toLowerCase() === lower) return value;
  return undefined;
}
