import { describe, expect, it } from 'vitest';
import { parseConsole, parseDmesg, sliceStage, stageMarker, type KmsgRecord } from '../../../harness/src/verdict/kmsg.js';

describe('parseDmesg', () => {
  it('reads dmesg -r prefixes as level and facility', () => {
    const records = parseDmesg(
      '<6>[    1.234567] virtio_net virtio0 eth0: renamed\n<12>[   41.207113] kmod-harness: mark load begin\n<4>[   41.305905] WARNING: CPU: 1 PID: 231 at x.c:1 f+0x1/0x2\n',
    );
    expect(records).toEqual([
      { level: 6, facility: 0, time: 1.234567, text: 'virtio_net virtio0 eth0: renamed' },
      { level: 4, facility: 1, time: 41.207113, text: 'kmod-harness: mark load begin' },
      { level: 4, facility: 0, time: 41.305905, text: 'WARNING: CPU: 1 PID: 231 at x.c:1 f+0x1/0x2' },
    ]);
  });

  it('reads plain dmesg with no level', () => {
    expect(parseDmesg('[  389.160182] BUG: kernel NULL pointer dereference, address: 0000000000000398')).toEqual([
      { time: 389.160182, text: 'BUG: kernel NULL pointer dereference, address: 0000000000000398' },
    ]);
  });

  it('keeps the indentation of stack frames and markers', () => {
    const [frame, marker] = parseDmesg('<4>[   41.306188]  ? __warn+0x7d/0xc0\n<4>[   41.306183]  <TASK>');
    expect(frame!.text).toBe(' ? __warn+0x7d/0xc0');
    expect(marker!.text).toBe(' <TASK>');
  });

  it('drops a CONFIG_PRINTK_CALLER field', () => {
    const records = parseDmesg('[   46.866069][ T6479] UBSAN: array-index-out-of-bounds in x.c:1:2\n[  132.866390][    C0] watchdog: BUG: soft lockup');
    expect(records.map((r) => r.text)).toEqual(['UBSAN: array-index-out-of-bounds in x.c:1:2', 'watchdog: BUG: soft lockup']);
  });

  it('makes unprefixed lines records of their own with no time or level', () => {
    const records = parseDmesg(
      '<6>[    2.0] kmemleak: 1 new suspected memory leaks\nunreferenced object 0xffff888004b1c8a0 (size 32):\n  comm "insmod", pid 211',
    );
    expect(records[1]).toEqual({ text: 'unreferenced object 0xffff888004b1c8a0 (size 32):' });
    expect(records[2]).toEqual({ text: '  comm "insmod", pid 211' });
  });

  it('handles CRLF, empty messages and a missing final newline', () => {
    const records = parseDmesg('<4>[    1.000000] a\r\n<3>[    1.000001] \r\n<4>[    1.000002] b');
    expect(records.map((r) => r.text)).toEqual(['a', '', 'b']);
  });

  it('reads a <N> prefix without a timestamp (printk.time=0)', () => {
    expect(parseDmesg('<3>BUG: scheduling while atomic: a/1/0x00000002')).toEqual([
      { level: 3, facility: 0, text: 'BUG: scheduling while atomic: a/1/0x00000002' },
    ]);
  });

  it('returns nothing for empty input', () => {
    expect(parseDmesg('')).toEqual([]);
  });
});

describe('parseConsole', () => {
  it('keeps timestamped kernel lines and drops everything else', () => {
    const raw = [
      'SeaBIOS (version 1.16.2-debian-1.16.2-1)\r',
      '[    0.000000] Linux version 6.1.0-18-cloud-amd64 (debian-kernel@lists.debian.org)\r',
      '[  OK  ] Started systemd-journald.service - Journal Service.\r',
      '/ # ./test\r',
      '[   52.118640] BUG: kernel NULL pointer dereference, address: 0000000000000000\r',
      '[   52.131842]  <TASK>\r',
      'Killed\r',
    ].join('\n');
    expect(parseConsole(raw)).toEqual([
      { time: 0, text: 'Linux version 6.1.0-18-cloud-amd64 (debian-kernel@lists.debian.org)' },
      { time: 52.11864, text: 'BUG: kernel NULL pointer dereference, address: 0000000000000000' },
      { time: 52.131842, text: ' <TASK>' },
    ]);
  });

  it('finds a kernel line printed in the middle of a prompt', () => {
    const [record] = parseConsole('localhost login: [   71.481606] ------------[ cut here ]------------\r\n');
    expect(record).toEqual({ time: 71.481606, text: '------------[ cut here ]------------' });
  });

  it('does not take bracketed numbers without six decimals from user output', () => {
    expect(parseConsole('took [1.5] seconds\n[12.34] not printk either\n')).toEqual([]);
  });

  it('keeps an empty kernel message', () => {
    expect(parseConsole('[   33.121409] \r\n')).toEqual([{ time: 33.121409, text: '' }]);
  });
});

describe('sliceStage', () => {
  const log = (...texts: string[]): KmsgRecord[] => texts.map((text) => ({ text }));

  it('returns the records between the begin and end markers', () => {
    const records = log('boot', stageMarker('load', 'begin'), 'a: init', stageMarker('load', 'end'), 'later');
    expect(sliceStage(records, 'load').map((r) => r.text)).toEqual(['a: init']);
  });

  it('runs to the end of the log when the end marker is missing', () => {
    const records = log(stageMarker('test', 'begin'), 'BUG: x', ' <TASK>');
    expect(sliceStage(records, 'test').map((r) => r.text)).toEqual(['BUG: x', ' <TASK>']);
  });

  it('is empty when the stage never began', () => {
    expect(sliceStage(log('boot', stageMarker('load', 'begin')), 'unload')).toEqual([]);
  });

  it('matches stage names exactly, suffixes included', () => {
    const records = log(
      stageMarker('test:read', 'begin'),
      'read',
      stageMarker('test:read', 'end'),
      stageMarker('test', 'begin'),
      'whole',
      stageMarker('test', 'end'),
    );
    expect(sliceStage(records, 'test').map((r) => r.text)).toEqual(['whole']);
    expect(sliceStage(records, 'test:read').map((r) => r.text)).toEqual(['read']);
  });

  it('uses the last begin marker when a stage ran twice', () => {
    const records = log(stageMarker('load', 'begin'), 'first', stageMarker('load', 'end'), stageMarker('load', 'begin'), 'second', stageMarker('load', 'end'));
    expect(sliceStage(records, 'load').map((r) => r.text)).toEqual(['second']);
  });

  it('finds markers in a real dmesg -r capture (written from /dev/kmsg at facility user)', () => {
    const records = parseDmesg('<12>[ 1.000000] kmod-harness: mark unload begin\n<6>[ 1.000001] m: exit\n<12>[ 1.000002] kmod-harness: mark unload end\n');
    expect(records[0]!.facility).toBe(1);
    expect(sliceStage(records, 'unload').map((r) => r.text)).toEqual(['m: exit']);
  });
});
