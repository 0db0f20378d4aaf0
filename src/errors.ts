import { writeTo } from './output';

/** Exit codes of the `fastkit` CLI; the other doors map them to `{ success: false }` or a rejection. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  behindHead: 3,
  interrupted: 130,
  terminated: 143,
} as const;

export interface FastkitErrorDetails {
  /** What to do about it, in one line. */
  hint?: string;
  /** @default ExitCode.failure */
  exitCode?: number;
  /** A stable name for the kind of failure, e.g. `connect` or `nothing-to-roll-back`. */
  code?: string;
  /** The full story (a Python traceback), shown only with `verbose`. */
  detail?: string;
}

/**
 * A failure fastkit can explain: what happened (the message) and what to do (the hint).
 * The core throws it; only the outermost layer (CLI, executor, gulp task) turns it into an
 * exit code, `{ success: false }` or a rejected task.
 */
export class FastkitError extends Error {
  readonly hint?: string;
  readonly exitCode: number;
  readonly code: string;
  readonly detail?: string;

  constructor(message: string, details: FastkitErrorDetails = {}) {
    super(message);
    this.name = 'FastkitError';
    this.hint = details.hint;
    this.exitCode = details.exitCode ?? ExitCode.failure;
    this.code = details.code ?? 'failure';
    this.detail = details.detail;
  }
}

/** The user asked for something that cannot be done as asked (exit 2). */
export class UsageError extends FastkitError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: ExitCode.usage, code: 'usage' });
    this.name = 'UsageError';
  }
}

/** The message a person reads: the problem, then the fix on the same line when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof FastkitError) {
    return error.hint ? `${error.message.replace(/\.+$/, '')}. ${error.hint}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * How every door reports a failure to a person: one line on stderr, and the full story
 * first when `verbose` asks for it. Messages arrive already masked by the core.
 */
export function printFailure(error: unknown, verbose = false, stderr: { write(chunk: string): unknown } = process.stderr): void {
  const detail = error instanceof FastkitError ? error.detail : error instanceof Error && !(error instanceof FastkitError) ? error.stack : undefined;
  if (verbose && detail) writeTo(stderr, detail.trimEnd() + '\n');
  writeTo(stderr, `fastkit: ${describeError(error)}\n`);
}
