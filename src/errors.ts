import { writeTo } from './output';

/** Exit codes of the `fastkit` CLI (and of gulp, whose tasks keep them). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  behindHead: 3,
  interrupted: 130,
  terminated: 143,
} as const;

/**
 * The kinds of failure whose exit code is not 1, and what that code tells a script. Every
 * other kind (`connect`, `nothing-to-roll-back`, `lock-timeout`…, named by the core or by the
 * Python helper's `code`) exits 1. This is the one place a kind becomes an exit code.
 */
export const FAILURE_KINDS = {
  usage: { exitCode: ExitCode.usage, means: 'usage error' },
  'not-at-head': { exitCode: ExitCode.behindHead, means: 'status --check found the database behind head' },
  interrupted: { exitCode: ExitCode.interrupted, means: 'interrupted (Ctrl-C)' },
  terminated: { exitCode: ExitCode.terminated, means: 'terminated (SIGTERM)' },
} as const;

export type FailureKind = keyof typeof FAILURE_KINDS;

/** The exit code of a failure of this kind. */
export function exitCodeOf(code: string): number {
  return Object.hasOwn(FAILURE_KINDS, code) ? FAILURE_KINDS[code as FailureKind].exitCode : ExitCode.failure;
}

export interface FastkitErrorDetails {
  /** What to do about it, in one line. */
  hint?: string;
  /** A stable name for the kind of failure, e.g. `connect` or `nothing-to-roll-back`; it decides the exit code. */
  code?: string;
  /** The full story (a Python traceback), shown only with `verbose`. */
  detail?: string;
}

/**
 * A failure fastkit can explain: what happened (the message) and what to do (the hint).
 * The core throws it; only the outermost layer (CLI, executor, gulp task) turns it into an
 * exit code, `{ success: false }` or a rejected task, through {@link reportFailure}.
 */
export class FastkitError extends Error {
  readonly hint?: string;
  readonly code: string;
  readonly detail?: string;

  constructor(message: string, details: FastkitErrorDetails = {}) {
    super(message);
    this.name = 'FastkitError';
    this.hint = details.hint;
    this.code = details.code ?? 'failure';
    this.detail = details.detail;
  }

  get exitCode(): number {
    return exitCodeOf(this.code);
  }
}

/** The user asked for something that cannot be done as asked (exit 2). */
export class UsageError extends FastkitError {
  constructor(message: string, hint?: string) {
    super(message, { hint, code: 'usage' });
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

/** The exit code of any failure: a FastkitError's kind decides; anything else is 1. */
export function exitCodeOfError(error: unknown): number {
  return error instanceof FastkitError ? error.exitCode : ExitCode.failure;
}

/**
 * How every door reports a failure to a person: one line on stderr, and the full story first
 * when `verbose` asks for it. Messages arrive already masked by the core. Returns the exit
 * code, which the CLI exits with, gulp keeps and Nx reduces to `{ success: false }`.
 */
export function reportFailure(error: unknown, verbose = false, stderr: { write(chunk: string): unknown } = process.stderr): number {
  const detail = error instanceof FastkitError ? error.detail : error instanceof Error ? error.stack : undefined;
  if (verbose && detail) writeTo(stderr, detail.trimEnd() + '\n');
  writeTo(stderr, `fastkit: ${describeError(error)}\n`);
  return exitCodeOfError(error);
}
