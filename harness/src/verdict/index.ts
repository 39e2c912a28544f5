// The verdict part's public API: kernel log parsing, kernel-error detection, taint, expected
// log lines, and the outcome decision.
export { parseConsole, parseDmesg, sliceStage, stageMarker, type KmsgRecord, type MarkerEdge } from './kmsg.js';
export { detectKernelErrors, type KernelError } from './detect.js';
export { REPORT_PATTERNS, matchHeader, type HeaderMatch, type ReportPattern } from './patterns.js';
export { extractTrace, parseFrame, type Frame } from './frames.js';
export { TAINT_FLAGS, newTaint, taintLetters, taintMeanings, type TaintFlag } from './taint.js';
export { matchInOrder, parseExpectations, type MatchResult } from './expect.js';
export { decide, type CommandResult, type Verdict, type VerdictInput } from './verdict.js';
