// Typed errors: each names its cause, the fix, and the outcome it maps to, and keeps the
// original error as `cause` so nothing is lost between a failing tool and the report.
import type { Outcome } from './outcome.js';

/**
 * Every code a HarnessError can carry: a closed set, so reports and callers can switch on it
 * (the JSON report's `errorCode`). E_USAGE is bad input (exit 2).
 */
export const ERROR_CODES = [
  'E_USAGE',
  'E_MISSING_TOOL',
  'E_HOST_PACKAGES',
  'E_KERNEL_FETCH',
  'E_TOOLCHAIN',
  'E_BUILD',
  'E_IMAGE',
  'E_CACHE_FULL',
  'E_LOCK',
  'E_BOOT',
  'E_QMP',
  'E_SNAPSHOT',
  'E_CONSOLE_TIMEOUT',
  'E_CONSOLE_LOG',
  'E_HOST_KEY',
  'E_RUN_KEY',
  'E_SSH_EXEC',
  'E_SSH_SHELL',
  'E_SSH_UPLOAD',
  'E_BASELINE',
  'E_VM_UNCLEAN',
  'E_TIMEOUT',
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface HarnessErrorOptions {
  /** What the user can do about it, printed after the message. */
  fix?: string;
  cause?: unknown;
  /** Extra detail for reports (compiler output, log tail), not printed by default. */
  detail?: string;
}

export class HarnessError extends Error {
  readonly code: ErrorCode;
  readonly outcome: Outcome;
  readonly fix: string | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, outcome: Outcome, message: string, options: HarnessErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.outcome = outcome;
    this.fix = options.fix;
    this.detail = options.detail;
  }
}

/** Bad input from the user: wrong path, unknown kernel series, bad option. */
export class UsageError extends HarnessError {
  constructor(message: string, options: HarnessErrorOptions = {}) {
    super('E_USAGE', 'infra-error', message, options);
  }
}

/** A host tool is missing; names the Debian package that provides it. */
export class MissingToolError extends HarnessError {
  readonly tool: string;
  readonly debianPackage: string;
  constructor(tool: string, debianPackage: string, options: HarnessErrorOptions = {}) {
    super('E_MISSING_TOOL', 'infra-error', `host tool '${tool}' not found`, {
      fix: `sudo apt-get install -y ${debianPackage}`,
      ...options,
    });
    this.tool = tool;
    this.debianPackage = debianPackage;
  }
}

/** Fetching or unpacking kernel packages failed (mirror, 404, disk). */
export class KernelFetchError extends HarnessError {
  constructor(message: string, options: HarnessErrorOptions = {}) {
    super('E_KERNEL_FETCH', 'infra-error', message, options);
  }
}

/** One compiler diagnostic, with the path in the user's source tree. */
export interface Diagnostic {
  file: string;
  line: number;
  column?: number;
  severity: 'error' | 'warning';
  message: string;
}

export class BuildError extends HarnessError {
  readonly diagnostics: Diagnostic[];
  readonly log: string;
  constructor(message: string, diagnostics: Diagnostic[], log: string, options: HarnessErrorOptions = {}) {
    super('E_BUILD', 'build-failed', message, { detail: log, ...options });
    this.diagnostics = diagnostics;
    this.log = log;
  }
}

export class BootError extends HarnessError {
  constructor(message: string, options: HarnessErrorOptions = {}) {
    super('E_BOOT', 'boot-failed', message, options);
  }
}

export class TimeoutError extends HarnessError {
  readonly stage: string;
  constructor(stage: string, seconds: number, options: HarnessErrorOptions = {}) {
    super('E_TIMEOUT', 'timeout', `${stage} did not finish within ${seconds} s`, options);
    this.stage = stage;
  }
}

/** Turn anything thrown into a HarnessError, so reports always have a code and an outcome. */
export function asHarnessError(error: unknown): HarnessError {
  if (error instanceof HarnessError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HarnessError('E_INTERNAL', 'infra-error', message, { cause: error });
}
