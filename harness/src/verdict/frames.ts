// Stack-trace lines: which lines are frames, which module a frame or RIP line names, and the
// bounded trace under a report's "Call Trace:" (or kmemleak / KFENCE) heading.

export interface Frame {
  func: string;
  module?: string;
  /** A `? func+...` frame: the unwinder found the address on the stack but is not sure of it. */
  unreliable: boolean;
}

/** Longest trace kept per report: enough to reach the syscall or kthread entry of any real one. */
export const MAX_TRACE_LINES = 64;

// Optional `[<ffffffff81234567>]` address columns (pre-4.x x86, kmemleak before 6.7), optional
// `? `, then either `func+0x1a/0x40` or a symbolized inline frame `func file.c:12 [inline]`.
const FRAME = /^\s*(?:\[<?[0-9a-f]+>?\]\s*)*(\?\s+)?([A-Za-z_.$][\w.$]*)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+|\s+\S+:\d+.*\[inline\])/;

// `[kmh_warn]`, or `[drm 14b5c4e2...]` when CONFIG_STACKTRACE_BUILD_ID appends the build id.
const TRAILING_MODULE = /\[(\w+)(?: [0-9a-f]{16,})?\]\s*$/;

const ADDRESS_COLUMNS = /^(?:\[<?[0-9a-f]+>?\]\s*)+/;

const MARKER = /^\s*<\/?(?:TASK|IRQ|NMI|SOFTIRQ|EOI)>\s*$/;

// A frame kallsyms could not name (`? 0xffffffffc05f7000`): code of a module that is gone, or
// not yet listed while its init runs. Kept: the frames after it still belong to the trace.
const BARE_FRAME = /^\s*(?:\?\s+)?0x[0-9a-f]{8,16}\s*$/;

// Register dumps printed inside a trace (the user-mode RIP block within <TASK>, or the
// interrupted context of a soft lockup): skipped without ending the trace.
const REGISTERS = /^\s*(?:RIP|RSP|RAX|RBX|RCX|RDX|RSI|RDI|RBP|R\d\d|FS|GS|CS|CR\d|DR\d|PKRU|Code):/;

const TRACE_HEADINGS = [
  /^\s*Call [Tt]race:\s*$/,
  // kmemleak: `backtrace:` before 6.7, `backtrace (crc 1a2b3c4d):` after.
  /^\s*backtrace(?: \(crc [0-9a-f]+\))?:\s*$/,
  // KFENCE prints the access stack right under the access line, with no heading of its own.
  /^(?:Use-after-free|Out-of-bounds|Invalid|Corrupted memory)\b.*0x[0-9a-f]+.*:\s*$/,
];

/** The module named in brackets at the end of a line, if any (`[inline]` is not a module). */
export function trailingModule(line: string): string | undefined {
  const m = TRAILING_MODULE.exec(line);
  return m === null || m[1] === 'inline' ? undefined : m[1];
}

export function parseFrame(line: string): Frame | undefined {
  const m = FRAME.exec(line);
  if (m === null) return undefined;
  const frame: Frame = { func: m[2]!, unreliable: m[1] !== undefined };
  const module = trailingModule(line);
  if (module !== undefined) frame.module = module;
  return frame;
}

export function isTraceMarker(line: string): boolean {
  return MARKER.test(line);
}

/** The module of the faulting kernel instruction: `RIP: 0010:f+0x1/0x2 [mod]`, arm64 `pc : ...`. */
export function ripModule(line: string): string | undefined {
  if (!/^\s*(?:RIP: 0010:|pc : |NIP:)/.test(line)) return undefined;
  return trailingModule(line);
}

/**
 * The trace lines (frames and `<TASK>`-style markers, trimmed, `[<address>]` columns dropped)
 * under the first trace heading in `texts[from..to)`. Stops at the first line that is neither,
 * skipping register dumps.
 */
export function extractTrace(texts: readonly string[], from: number, to: number): string[] {
  let start = -1;
  for (let i = from; i < to && start < 0; i++) {
    if (TRACE_HEADINGS.some((re) => re.test(texts[i]!))) start = i + 1;
  }
  if (start < 0) return [];
  const trace: string[] = [];
  for (let i = start; i < to && trace.length < MAX_TRACE_LINES; i++) {
    const line = texts[i]!;
    if (REGISTERS.test(line)) continue;
    if (!isTraceMarker(line) && !BARE_FRAME.test(line) && parseFrame(line) === undefined) {
      // A serial console under TCG now and then garbles a character ("0xd9/00x122"): skip one
      // such line when the trace goes on after it, instead of losing the rest of the trace.
      const next = texts[i + 1];
      const garbledFrame = /^\s*(?:\?\s+)?[A-Za-z_.$][\w.$]*\+0x/.test(line);
      if (garbledFrame && i + 1 < to && next !== undefined && parseFrame(next) !== undefined) continue;
      break;
    }
    // Address columns are hashed or randomized per boot: noise when comparing traces.
    trace.push(line.trim().replace(ADDRESS_COLUMNS, ''));
  }
  return trace;
}

/** The first module a trace names, preferring reliable frames over `?` ones. */
export function traceModule(trace: readonly string[]): string | undefined {
  let fallback: string | undefined;
  for (const line of trace) {
    const frame = parseFrame(line);
    if (frame?.module === undefined) continue;
    if (!frame.unreliable) return frame.module;
    fallback ??= frame.module;
  }
  return fallback;
}
