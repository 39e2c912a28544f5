// Kernel errors in a record list: find report headers (patterns.ts), group the lines of one
// report so a BUG + Oops + panic counts once, and pull out a title, trace and culprit module.
import { extractTrace, ripModule, trailingModule, traceModule } from './frames.js';
import type { KmsgRecord } from './kmsg.js';
import { matchHeader, type HeaderMatch } from './patterns.js';

export interface KernelError {
  /** Report family: oops, bug, kernel-bug, warning, gpf, kasan, kfence, ubsan, kmemleak, ... */
  kind: string;
  /** One-line human title, e.g. `BUG: kernel NULL pointer dereference, address: 0000000000000000`. */
  title: string;
  /** The report's stack trace lines (frames and `<TASK>` markers), bounded. */
  trace: string[];
  /** The module the report blames (RIP line, header, or first trace frame naming one). */
  module?: string;
  /** Index of the report's first header line in the records given. */
  recordIndex: number;
  /** Index one past the report's last line, so callers can show the whole report. */
  endIndex?: number;
}

/** A report runs at most this long without a terminator before it is considered over. */
const MAX_REPORT_LINES = 200;
/** Headers this close to the previous header may be parts of the same report. */
const JOIN_DISTANCE = 16;
/** A panic this soon after a finished report, for one of these reasons, is its consequence. */
const PANIC_DISTANCE = 40;
const CONSEQUENCE = /Fatal exception|panic_on_|hung_task|softlockup|hardlockup|RCU Stall|kasan|kfence|Attempted to kill/i;

const END_MARKER = /^---\[ end (?:trace|Kernel panic)\b/;

// A refcount or list-corruption message always comes with the WARN or BUG that reports it,
// before it (x86: message first) or after it (architectures without __WARN_FLAGS).
const COMPANIONS: ReadonlyArray<readonly [string, string]> = [
  ['list-corruption', 'kernel-bug'],
  ['list-corruption', 'warning'],
  ['refcount', 'warning'],
  ['odebug', 'warning'],
];

interface Draft {
  error: KernelError;
  rank: number;
  lastHeader: number;
  end: number;
  open: boolean;
  closer: RegExp | undefined;
  /** The module named on a header line itself (`WARNING: ... f+0x1/0x2 [mod]`), if any. */
  headerModule: string | undefined;
}

function companions(a: string, b: string): boolean {
  return COMPANIONS.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
}

/** Lines a SLUB report (header, object hexdump, owner tracks) may run before its WARN. */
const SLUB_REPORT_LINES = 160;

/** Since 6.x a SLUB error is followed by a WARN inside mm/slub.c: one report, not two. */
function slubWarning(draft: Draft, hit: HeaderMatch, i: number): boolean {
  return draft.error.kind === 'slub' && hit.kind === 'warning' && /\bmm\/slub\.c\b/.test(hit.title) && i - draft.lastHeader <= SLUB_REPORT_LINES;
}

function joins(draft: Draft, hit: HeaderMatch, i: number): boolean {
  if (slubWarning(draft, hit, i)) return true;
  const near = draft.open && i - draft.lastHeader <= JOIN_DISTANCE;
  if (hit.kind === 'oops') return near;
  if (hit.kind === 'panic') {
    return draft.open || (i - draft.end <= PANIC_DISTANCE && CONSEQUENCE.test(hit.title));
  }
  if (hit.kind === 'kmemleak' && hit.rank < 2) return draft.error.kind === 'kmemleak';
  return near && companions(draft.error.kind, hit.kind);
}

function start(hit: HeaderMatch, i: number): Draft {
  return {
    error: { kind: hit.kind, title: hit.title, trace: [], recordIndex: i },
    rank: hit.rank,
    lastHeader: i,
    end: i + 1,
    open: true,
    closer: hit.pattern.closer,
    headerModule: undefined,
  };
}

function finish(draft: Draft, texts: readonly string[]): KernelError {
  const { error } = draft;
  const from = error.recordIndex;
  error.endIndex = draft.end;
  error.trace = extractTrace(texts, from, draft.end);
  let module = draft.headerModule;
  for (let i = from; module === undefined && i < draft.end; i++) module = ripModule(texts[i]!);
  module ??= traceModule(error.trace);
  // SLUB reports name the allocating and freeing code: `INFO: Freed in f+0x20/0x3c [mod] age=0`.
  for (let i = from; module === undefined && i < draft.end; i++) module = /^INFO: (?:Allocated|Freed) in \S+ \[(\w+)\]/.exec(texts[i]!.trim())?.[1];
  if (module !== undefined) error.module = module;
  return error;
}

/** Every kernel error report in `records`, in log order, each multi-line report counted once. */
export function detectKernelErrors(records: readonly KmsgRecord[]): KernelError[] {
  const texts = records.map((r) => r.text);
  const drafts: Draft[] = [];

  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const last = drafts.at(-1);
    if (last?.open && i - last.lastHeader > MAX_REPORT_LINES) last.open = false;
    if (last?.open) {
      if (END_MARKER.test(text.trim()) || (last.closer?.test(text) && i > last.lastHeader)) {
        last.end = i + 1;
        last.open = false;
        continue;
      }
    }

    const hit = matchHeader(text);
    if (hit === undefined) {
      if (last?.open) last.end = i + 1;
      continue;
    }

    if (last !== undefined && joins(last, hit, i)) {
      // The SLUB header names the bug; its WARN only brings the stack.
      if (hit.rank > last.rank && !slubWarning(last, hit, i)) {
        last.error.kind = hit.kind;
        last.error.title = hit.title;
        last.rank = hit.rank;
      }
      last.lastHeader = i;
      last.end = Math.max(last.end, i + 1);
      last.closer ??= hit.pattern.closer;
    } else {
      if (last?.open) last.open = false;
      drafts.push(start(hit, i));
    }
    const draft = drafts[drafts.length - 1]!;
    if (hit.kind !== 'oops') draft.headerModule ??= trailingModule(text);
  }
  return drafts.map((d) => finish(d, texts));
}
