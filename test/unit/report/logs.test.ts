import { describe, expect, it } from 'vitest';
import { droppedLine } from '../../../harness/src/util/bounded-text.js';
import { jsonReport } from '../../../harness/src/report/json.js';
import { droppedNote, REPORT_LOG_BYTES, withLogExcerpts } from '../../../harness/src/report/logs.js';
import { result } from './result.js';

const big = 'x'.repeat(40_000) + 'y'.repeat(40_000);

describe('withLogExcerpts', () => {
  it('keeps short logs as they are, and cuts a long one to head and tail with the dropped line', () => {
    const r = result({ logs: { console: 'c\r\n', test: big, dmesg: '' } });
    const cut = withLogExcerpts(r);
    expect(cut.logs.console).toBe('c\r\n');
    expect(cut.logs.dmesg).toBe('');
    expect(cut.logs.test).toBe(`${'x'.repeat(32_768)}\n${droppedLine(80_000 - REPORT_LOG_BYTES)}\n${'y'.repeat(32_768)}`);
    expect('build' in cut.logs).toBe(false);
    // The result itself is left alone: the artifacts write its logs whole.
    expect(r.logs.test).toBe(big);
    expect(withLogExcerpts(r, 10).logs.console).toBe('c\r\n');
  });

  it('is what the JSON report holds, with the dropped counts beside', () => {
    const r = result({ logs: { test: big }, dropped: { stdout: 5_000_000 } });
    const [parsed] = (JSON.parse(jsonReport([r])) as { results: (typeof r)[] }).results;
    expect(parsed!.logs.test).toBe(withLogExcerpts(r).logs.test);
    expect(parsed!.dropped).toEqual({ stdout: 5_000_000 });
  });
});

describe('droppedNote', () => {
  it('names each stream that lost bytes, and nothing when none did', () => {
    expect(droppedNote(result({}))).toBeUndefined();
    expect(droppedNote(result({ dropped: {} }))).toBeUndefined();
    expect(droppedNote(result({ dropped: { stdout: 2 ** 30, console: 1536 } }))).toBe(
      '1.0 GiB of test stdout, 1.5 KiB of console dropped (output limit: head and tail kept)',
    );
    expect(droppedNote(result({ dropped: { stderr: 10 } }))).toBe('10 B of test stderr dropped (output limit: head and tail kept)');
    expect(droppedNote(result({ dropped: { console: 99 } }), ['stdout', 'stderr'])).toBeUndefined();
  });
});
