// The table of kernel report headers, after syzkaller's pkg/report/linux.go oops table: each
// entry names the first line of one kind of report. Headers are anchored at the start of the
// message text, so a module's `pr_info("x: BUG: ...")` or a boot line such as
// `RETBleed: WARNING: ...` never matches; detect.ts groups the lines that follow a header.

export interface ReportPattern {
  kind: string;
  header: RegExp;
  /** One-line human title from the header match; default: the trimmed line. */
  title?: (m: RegExpExecArray) => string;
  /**
   * Specificity when two headers fall into one report (a `refcount_t:` line and the WARNING
   * it comes with): the higher rank names the merged report.
   */
  rank: number;
  /** Closes the report besides `---[ end trace ... ]---` (KASAN-style `=====` rulers). */
  closer?: RegExp;
}

const RULER = /^={20,}\s*$/;

// Order matters: the first matching entry wins, so specific `BUG: KASAN:` comes before `BUG:`
// and the 6.9+ `Oops: general protection fault` before the generic Oops line.
export const REPORT_PATTERNS: readonly ReportPattern[] = [
  { kind: 'kasan', header: /^BUG: KASAN: .+/, rank: 3, closer: RULER },
  { kind: 'kfence', header: /^BUG: KFENCE: .+/, rank: 3, closer: RULER },
  {
    // SLUB debug: `BUG kmalloc-64 (Tainted: G    B      O     ): Object already free`.
    kind: 'slub',
    header: /^BUG ([\w.:-]+) \((?:Not tainted|Tainted:[^)]*)\): (.+)$/,
    title: (m) => `BUG ${m[1]}: ${m[2]!.trim()}`,
    rank: 3,
  },
  {
    kind: 'list-corruption',
    header: /^(?:list_add|list_del|list_splice|hlist_\w+)\w*(?: corruption| double add)\b.*/,
    rank: 3,
  },
  { kind: 'refcount', header: /^refcount_t: .+/, rank: 3 },
  { kind: 'ubsan', header: /^UBSAN: .+/, rank: 3, closer: RULER },
  {
    // DEBUG_OBJECTS: `ODEBUG: free active (active state 0) object: ... object type: timer_list
    // hint: f+0x0/0x20 [mod]`, printed by the WARN in lib/debugobjects.c that follows it.
    kind: 'odebug',
    header: /^ODEBUG: .+/,
    rank: 3,
  },
  {
    kind: 'lockdep',
    header:
      /^WARNING: (?:possible circular locking dependency detected|possible recursive locking detected|inconsistent lock state|suspicious RCU usage|bad unlock balance detected!|held lock freed!|possible irq lock inversion dependency detected|lock held when returning to user space!|.* lock order detected).*/,
    rank: 2,
  },
  { kind: 'kernel-bug', header: /^[Kk]ernel BUG at .+/, rank: 2 },
  {
    // `general protection fault, probably for non-canonical address 0x...: 0000 [#1] SMP`;
    // the error code and oops counter are dropped from the title.
    kind: 'gpf',
    header: /^(?:Oops: )?(general protection fault[^:]*?)(?::\s+[0-9a-f]+ \[#\d+\].*)?$/,
    title: (m) => m[1]!,
    rank: 2,
  },
  { kind: 'hung-task', header: /^INFO: task \S+:\d+ blocked for more than \d+ seconds\..*/, rank: 2 },
  {
    kind: 'rcu-stall',
    header: /^(?:rcu: )?(INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls?\b.*)/,
    title: (m) => m[1]!,
    rank: 2,
  },
  {
    kind: 'hard-lockup',
    // `watchdog: Watchdog detected hard LOCKUP on cpu 1`; 6.7+ adds `CPU1: ` before it.
    header: /^(?:NMI )?(?:watchdog: )?(?:CPU\d+: )?(Watchdog detected hard LOCKUP on cpu \d+.*)/,
    title: (m) => m[1]!,
    rank: 2,
  },
  {
    // `BUG: kernel NULL pointer dereference, address: ...`, `BUG: sleeping function called from
    // invalid context at ...`, `BUG: scheduling while atomic: ...`, `watchdog: BUG: soft lockup`.
    kind: 'bug',
    header: /^(?:watchdog: )?(BUG: .+)/,
    title: (m) => m[1]!,
    rank: 2,
  },
  {
    // arm64 spells the x86 `BUG: unable to handle ...` line like this.
    kind: 'bug',
    header: /^Unable to handle kernel (?:NULL pointer dereference|paging request|execute from non-executable memory|access to user memory).*/,
    rank: 2,
  },
  {
    kind: 'warning',
    // `WARNING: CPU: 0 PID: 123 at drivers/x.c:12 f+0x10/0x20 [mod]`; `WARNING: at ...` on
    // architectures and kernels that print no CPU/PID.
    header: /^WARNING: (?:CPU: \d+ (?:UID: \d+ )?PID: \d+ )?at (.+)$/,
    title: (m) => `WARNING at ${m[1]!.trim()}`,
    rank: 1,
  },
  {
    // The reordered first line of recent kernels: `WARNING: x.c:12 at f+0x10/0x20 [mod], CPU#0: comm/123`.
    kind: 'warning',
    header: /^WARNING: (\S+:\d+) at (.+?), CPU#\d+: .*/,
    title: (m) => `WARNING at ${m[1]} ${m[2]!.trim()}`,
    rank: 1,
  },
  {
    kind: 'kmemleak',
    header: /^unreferenced object (0x[0-9a-f]+ \(size \d+\)):/,
    title: (m) => `kmemleak: unreferenced object ${m[1]}`,
    rank: 2,
  },
  { kind: 'kmemleak', header: /^kmemleak: \d+ new suspected memory leaks?\b.*/, rank: 1 },
  { kind: 'panic', header: /^Kernel panic - not syncing: .*/, rank: 0 },
  {
    // The oops line proper: x86 `Oops: 0000 [#1] PREEMPT SMP NOPTI`, `invalid opcode: 0000 [#1]`
    // (6.9+: `Oops: invalid opcode: ...`), arm64 `Internal error: Oops: 96000045 [#1] SMP`.
    kind: 'oops',
    header: /^(?:Oops: )?(?:Oops|Internal error|invalid opcode|divide error|stack segment|double fault|alignment check|int3)\b.*\[#\d+\].*/,
    rank: 0,
  },
];

export interface HeaderMatch {
  pattern: ReportPattern;
  kind: string;
  title: string;
  rank: number;
}

const MAX_TITLE = 200;

/** The report header a line starts, if any. */
export function matchHeader(text: string): HeaderMatch | undefined {
  const line = text.trimEnd();
  for (const pattern of REPORT_PATTERNS) {
    const m = pattern.header.exec(line);
    if (m === null) continue;
    const title = (pattern.title ? pattern.title(m) : m[0]).trim();
    return {
      pattern,
      kind: pattern.kind,
      title: title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title,
      rank: pattern.rank,
    };
  }
  return undefined;
}
