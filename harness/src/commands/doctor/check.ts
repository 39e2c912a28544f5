// What every doctor check yields (a finding: status, summary, fix) and the few helpers the checks
// share: a gathered fact that may carry its error instead, and the finding for a fact the doctor
// could not read.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
}

/** One gathered fact, or why it could not be gathered. */
export type Fact<T> = { ok: true; value: T } | { ok: false; error: string };

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The fact `fn` gathers, or its error: each fact on its own, so that one failure hides nothing else. */
export async function settle<T>(fn: () => Promise<T>): Promise<Fact<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

export const check = (name: string, status: CheckStatus, summary: string, fix?: string): DoctorCheck =>
  fix === undefined ? { name, status, summary } : { name, status, summary, fix };

/** A fact that could not be gathered is a warning: the doctor cannot tell, the run may still work. */
export const unknown = (name: string, fact: { error: string }): DoctorCheck => check(name, 'warn', `could not check: ${fact.error}`);
