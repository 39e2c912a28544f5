// Kernel log text -> records. The guest's log arrives two ways (busybox `dmesg -r` over SSH and
// the raw serial console); both become the same KmsgRecord list so detection never cares which.

export interface KmsgRecord {
  /** Console log level 0 (emerg) .. 7 (debug); only `dmesg -r` carries it. */
  level?: number;
  /** Syslog facility: 0 for the kernel, 1 (user) for lines written to /dev/kmsg. */
  facility?: number;
  /** Seconds since boot, from the `[    1.234567]` prefix. */
  time?: number;
  /** The message text, leading indentation kept (stack frames are indented). */
  text: string;
}

// `<N>` (dmesg -r only), then `[ seconds.micro]`, then an optional CONFIG_PRINTK_CALLER field
// such as `[ T123]` or `[  C0]`, then one space before the text.
const DMESG_LINE = /^(?:<(\d{1,3})>)?(?:\[\s*(\d+\.\d+)\])?(?:\[\s*[CT]\d+\])?/;

// printk always prints the timestamp as `[%5lu.%06lu]`; requiring six decimals lets the console
// parser find it mid-line (after a login prompt the kernel interrupted) without taking
// arbitrary bracketed numbers from user programs.
const CONSOLE_STAMP = /\[\s*(\d+\.\d{6})\](?:\[\s*[CT]\d+\])?(?: |$)/;

function lines(raw: string): string[] {
  const out = raw.split('\n').map((l) => l.replace(/\r+$/, '').replace(/\r/g, ''));
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * Parse `dmesg -r` (`<6>[    1.234567] text`) or plain `dmesg` (`[    1.234567] text`) output.
 * A line with neither prefix (printk.time=0 without -r, or the body of /sys/kernel/debug/kmemleak)
 * becomes its own record with no time and no level: records stay one per line, which is what the
 * line-oriented detector wants, and nothing is silently glued to a neighbour.
 */
export function parseDmesg(raw: string): KmsgRecord[] {
  const records: KmsgRecord[] = [];
  for (const line of lines(raw)) {
    const m = DMESG_LINE.exec(line);
    if (m === null || m[0] === '') {
      records.push({ text: line });
      continue;
    }
    let text = line.slice(m[0].length);
    if (text.startsWith(' ')) text = text.slice(1);
    const record: KmsgRecord = { text };
    if (m[1] !== undefined) {
      const prefix = Number(m[1]);
      record.level = prefix & 7;
      record.facility = prefix >> 3;
    }
    if (m[2] !== undefined) record.time = Number(m[2]);
    records.push(record);
  }
  return records;
}

/**
 * Parse raw serial console text: strip `\r`, keep only lines carrying a printk timestamp, and drop
 * whatever precedes it on the line (interleaved shell or init output). Untimestamped kernel lines
 * are not guessed at: the harness boots with printk.time=1, so every kernel line has one.
 */
export function parseConsole(raw: string): KmsgRecord[] {
  const records: KmsgRecord[] = [];
  for (const line of lines(raw)) {
    const m = CONSOLE_STAMP.exec(line);
    if (m === null) continue;
    records.push({ time: Number(m[1]), text: line.slice(m.index + m[0].length) });
  }
  return records;
}

export type MarkerEdge = 'begin' | 'end';

/** The exact line the harness writes to /dev/kmsg around each stage (`load`, `test:read`, ...). */
export function stageMarker(stage: string, edge: MarkerEdge): string {
  return `kmod-harness: mark ${stage} ${edge}`;
}

/** The stage and edge of a marker line written by stageMarker, or undefined for any other line. */
export function parseStageMarker(text: string): { stage: string; edge: MarkerEdge } | undefined {
  const m = /^kmod-harness: mark (\S+) (begin|end)$/.exec(text.trim());
  return m ? { stage: m[1]!, edge: m[2] as MarkerEdge } : undefined;
}

/**
 * The records logged during one stage: after its last `begin` marker and before the next `end`
 * marker, or to the end of the log when the end marker never came (the guest died mid-stage).
 * Empty when the stage never began. Markers match exactly, so `test` never matches `test:read`.
 */
export function sliceStage(records: KmsgRecord[], stage: string): KmsgRecord[] {
  const begin = stageMarker(stage, 'begin');
  const end = stageMarker(stage, 'end');
  let start = -1;
  for (let i = records.length - 1; i >= 0; i--) {
    if (records[i]!.text.trim() === begin) {
      start = i;
      break;
    }
  }
  if (start < 0) return [];
  let stop = records.length;
  for (let i = start + 1; i < records.length; i++) {
    if (records[i]!.text.trim() === end) {
      stop = i;
      break;
    }
  }
  return records.slice(start + 1, stop);
}
