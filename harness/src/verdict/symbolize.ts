// Maps stack frames in the module under test (`func+0xoff/0xlen [mod]`) to source file:line,
// with binutils on the .ko the harness built (it keeps its debug info; the guest got a
// stripped copy). Relocatable objects keep section-relative symbol values, so each frame is
// looked up as an offset into its function's section.
import path from 'node:path';
import { execa } from 'execa';
import { requireTool, type Arm64Tool, type HostTool } from '../host/tools.js';

export interface ModuleFrame {
  func: string;
  offset: number;
  module: string;
}

export interface SourceLocation {
  /** The frame as the kernel printed it, e.g. `kmh_warn_read+0x5/0xe [warn_mmap]`. */
  frame: string;
  func: string;
  file: string;
  line: number;
}

const FRAME = /([A-Za-z_][\w.]*)\+0x([0-9a-f]+)\/0x[0-9a-f]+ \[(\w+)\]/;

export function parseModuleFrame(text: string): (ModuleFrame & { frame: string }) | undefined {
  const m = FRAME.exec(text);
  if (!m) return undefined;
  return { func: m[1]!, offset: Number.parseInt(m[2]!, 16), module: m[3]!, frame: m[0] };
}

export interface FuncSymbol {
  name: string;
  section: string;
  value: number;
  size: number;
}

/**
 * FUNC symbols of a .ko (and with `types`, others such as OBJECT: a fault in an unloaded
 * module's ops table), from `readelf -sW` and `readelf -SW` (for section names).
 */
export function parseFuncSymbols(symtab: string, sections: string, types: readonly string[] = ['FUNC']): FuncSymbol[] {
  const names = new Map<string, string>();
  for (const line of sections.split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)/.exec(line);
    if (m) names.set(m[1]!, m[2]!);
  }
  const out: FuncSymbol[] = [];
  for (const line of symtab.split('\n')) {
    // Num: Value Size Type Bind Vis Ndx Name
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !types.includes(f[3]!)) continue;
    const section = names.get(f[6]!);
    if (section) out.push({ name: f[7]!, section, value: Number.parseInt(f[1]!, 16), size: Number.parseInt(f[2]!, 10) });
  }
  return out;
}

/** `readelf -sW` + `readelf -SW` -> function name -> { section name, value }. */
export function parseSymbols(symtab: string, sections: string): Map<string, { section: string; value: number }> {
  return byName(parseFuncSymbols(symtab, sections));
}

function byName(funcs: readonly FuncSymbol[]): Map<string, { section: string; value: number }> {
  return new Map(funcs.map((f) => [f.name, { section: f.section, value: f.value }]));
}

/** The FUNC (or `types`) symbols of one .ko, with the host's readelf. */
export async function readKoSymbols(ko: string, types?: readonly string[]): Promise<FuncSymbol[]> {
  const readelf = await requireTool('readelf');
  const [symtab, sections] = await Promise.all([execa(readelf, ['-sW', ko]), execa(readelf, ['-SW', ko])]);
  return parseFuncSymbols(symtab.stdout, sections.stdout, types);
}

/** `addr2line -f -i` output: function/location pairs, the innermost inlined one first. */
export function parseInlineChain(stdout: string): Array<{ func: string; file: string; line: number }> {
  const lines = stdout.split('\n');
  const chain = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const m = /^(.*):(\d+)/.exec(lines[i + 1]!);
    if (!m || m[1] === '??' || m[2] === '0') continue;
    chain.push({ func: lines[i]!, file: path.normalize(m[1]!), line: Number(m[2]) });
  }
  return chain;
}

/**
 * The innermost location in the module's own sources: the outermost one is the frame's function
 * in the module's .c file, and kernel helpers inlined into it (kmalloc in slab.h) live elsewhere.
 */
export function pickLocation(chain: ReadonlyArray<{ func: string; file: string; line: number }>): { func: string; file: string; line: number } | undefined {
  const outer = chain.at(-1);
  if (!outer) return undefined;
  const home = path.dirname(outer.file);
  return chain.find((l) => l.file === outer.file || l.file.startsWith(`${home}/`)) ?? outer;
}

/**
 * Source locations for the frames in `lines` that name one of `kos` (module name -> .ko path).
 * `returnAddress` frames point after a call: look up the byte before, as the kernel's own
 * decoder does. Frames that cannot be resolved are left out.
 */
export async function symbolize(
  lines: Array<{ text: string; returnAddress: boolean }>,
  kos: Map<string, string>,
  tool: HostTool | Arm64Tool = 'addr2line',
): Promise<SourceLocation[]> {
  const addr2line = await requireTool(tool);
  const out: SourceLocation[] = [];
  const symbolCache = new Map<string, Map<string, { section: string; value: number }>>();
  for (const { text, returnAddress } of lines) {
    const frame = parseModuleFrame(text);
    const ko = frame && kos.get(frame.module);
    if (!frame || !ko) continue;
    let symbols = symbolCache.get(ko);
    if (!symbols) {
      symbols = byName(await readKoSymbols(ko));
      symbolCache.set(ko, symbols);
    }
    const symbol = symbols.get(frame.func);
    if (!symbol) continue;
    const address = symbol.value + frame.offset - (returnAddress && frame.offset > 0 ? 1 : 0);
    const { stdout } = await execa(addr2line, ['-e', ko, '-j', symbol.section, '-f', '-i', `0x${address.toString(16)}`], { reject: false });
    const location = pickLocation(parseInlineChain(stdout));
    if (location) out.push({ frame: frame.frame, ...location });
  }
  return out;
}
