// kmemleak's report (/sys/kernel/debug/kmemleak), read after rmmod: the leaking module's text
// is gone by then, so its frames print as bare addresses (`[<...>] 0xffffffffc0a01234`). With
// where each module's text sections were loaded (read before rmmod) and the .ko's symbol
// table, such an address becomes `func+0xoff/0xsize [mod]` again, as if the module were loaded.
// Only leaks with a frame in a module under test are kept: kmemleak's false positives in the
// kernel itself (boot-time allocations it cannot trace) are not the module's bug.
import { readKoSymbols, type FuncSymbol } from './symbolize.js';
import type { ModuleSection } from '../job-raw.js';

export { parseFuncSymbols, type FuncSymbol } from './symbolize.js';

export type { ModuleSection } from '../job-raw.js';

/** `sym+0xoff/0xsize [module]` for an address inside a symbol of a module's loaded section, if any. */
export function symbolizeAddress(address: bigint, sections: readonly ModuleSection[], symbols: ReadonlyMap<string, readonly FuncSymbol[]>): string | undefined {
  for (const s of sections) {
    // 0: the address was hidden from us (kptr_restrict), so nothing can be placed in it.
    if (s.address === 0n || address < s.address) continue;
    const offset = Number(address - s.address);
    const fn = (symbols.get(s.module) ?? []).find((f) => f.section === s.section && offset >= f.value && offset < f.value + Math.max(f.size, 1));
    if (fn) return `${fn.name}+0x${(offset - fn.value).toString(16)}/0x${fn.size.toString(16)} [${s.module}]`;
  }
  return undefined;
}

const BARE_FRAME = /^(\s*\[<[0-9a-f]+>\]\s+)0x([0-9a-f]+)\s*$/;
const HEADER = /^unreferenced object /;

/**
 * The report's objects with a frame in one of `modules`, bare addresses symbolized. An object
 * is a block from its `unreferenced object` line up to the next one.
 */
export function moduleLeaks(
  report: string,
  modules: readonly string[],
  sections: readonly ModuleSection[],
  symbols: ReadonlyMap<string, readonly FuncSymbol[]>,
): string[] {
  const blocks: string[][] = [];
  for (const line of report.split('\n')) {
    if (HEADER.test(line)) blocks.push([]);
    const block = blocks.at(-1);
    if (!block) continue;
    const bare = BARE_FRAME.exec(line);
    const named = bare ? symbolizeAddress(BigInt(`0x${bare[2]}`), sections, symbols) : undefined;
    block.push(named ? `${bare![1]}${named}` : line.trimEnd());
  }
  const mine = new RegExp(`\\[(?:${modules.map((m) => m.replace(/[^\w]/g, '')).join('|')})\\]\\s*$`);
  return blocks.filter((b) => modules.length > 0 && b.some((l) => mine.test(l))).map((b) => b.filter((l) => l !== '').join('\n'));
}

/**
 * The FUNC and OBJECT symbols of each module's .ko (name -> path), read with the host's
 * readelf: code for leak backtraces and calls into freed text, objects for reads of a freed
 * ops table.
 */
export async function readFuncSymbols(kos: ReadonlyMap<string, string>): Promise<Map<string, FuncSymbol[]>> {
  const out = new Map<string, FuncSymbol[]>();
  for (const [name, ko] of kos) out.set(name, await readKoSymbols(ko, ['FUNC', 'OBJECT']));
  return out;
}
