import type { Readable } from 'node:stream';
import { ExitCode } from './errors';

/** What to do with each line a child prints, and with its structured events (fd 3). */
export interface ProcessListeners {
  onStdout(line: string): void;
  onStderr(line: string): void;
  onEvent(line: string): void;
}

export interface ProcessOptions extends ProcessListeners {
  cwd: string;
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
}

export interface ProcessResult {
  exitCode: number;
  /** The signal that ended the child, if one did. */
  signal?: string;
  /** The signal fastkit forwarded to it (Ctrl-C or SIGTERM), if any. */
  forwarded?: NodeJS.Signals;
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The one place fastkit starts a process: an argument array (never a shell string), output
 * streamed line by line, a side channel on fd 3 for events, and Ctrl-C or SIGTERM passed on
 * exactly once so the child can roll back and exit before fastkit does.
 *
 * The child runs in its own process group, so a terminal's Ctrl-C reaches it only through
 * fastkit (once), and never twice while it is cleaning up.
 */
export async function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  return (await startChild(argv, options, 'ignore')).exited;
}

/** A long-lived child that takes requests on stdin and answers on fd 3 (fastkit's Python server). */
export interface ServerProcess {
  /** Writes one line to its stdin. */
  send(line: string): void;
  /** Closes its stdin: no more requests; it ends once the running ones have. */
  end(): void;
  /** The signal first passed on to it (Ctrl-C or SIGTERM), if any. */
  forwarded(): NodeJS.Signals | undefined;
  /** Settles when it has ended and its output has been read; rejects when it could not start. */
  exited: Promise<ProcessResult>;
}

/**
 * The same start as {@link runProcess} (an argument array, its own process group, stdout and
 * stderr line by line, events on fd 3, Ctrl-C and SIGTERM passed on), for a child that lives
 * as long as fastkit has requests for it, with a pipe on its stdin to send them.
 */
export async function startServerProcess(argv: readonly string[], options: ProcessOptions): Promise<ServerProcess> {
  const { child, exited, forwarded } = await startChild(argv, options, 'pipe');
  // a server that ends first (it crashed) must not fail a write of the next request
  child.stdin?.on('error', () => undefined);
  return {
    send: (line) => void child.stdin?.write(line + '\n'),
    end: () => void child.stdin?.end(),
    forwarded,
    exited,
  };
}

/** Both starts: the child, its result once it has ended and its output has been read, and the signal passed on to it. */
async function startChild(argv: readonly string[], options: ProcessOptions, stdin: 'ignore' | 'pipe') {
  const execa = await loadExeca();
  const [file, ...args] = argv;
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    stdio: [stdin, 'pipe', 'pipe', 'pipe'],
    buffer: false,
    reject: false,
    detached: true,
    stripFinalNewline: false,
  });

  let forwarded: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    forwarded ??= signal;
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);

  const streams = [
    readLines(child.stdout, options.onStdout),
    readLines(child.stderr, options.onStderr),
    readLines(child.stdio[3] as Readable, options.onEvent),
  ];
  const exited = (async (): Promise<ProcessResult> => {
    try {
      const result = await child;
      await Promise.all(streams);
      if (result.failed && result.exitCode === undefined && !result.signal) throw result;
      return { exitCode: result.exitCode ?? signalExitCode(result.signal), signal: result.signal, forwarded };
    } finally {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    }
  })();
  return { child, exited, forwarded: () => forwarded };
}

async function loadExeca(): Promise<Execa> {
  try {
    return (require('../vendor/execa.cjs') as { execa: Execa }).execa;
  } catch {
    return (await import('execa')).execa;
  }
}

type Execa = typeof import('execa', { with: { 'resolution-mode': 'import' } }).execa;

/** The exit code of a child ended by `signal`, as fastkit reports it. */
export function signalExitCode(signal: string | undefined): number {
  if (signal === 'SIGINT') return ExitCode.interrupted;
  if (signal === 'SIGTERM') return ExitCode.terminated;
  return ExitCode.failure;
}

function readLines(stream: Readable | null | undefined, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    const lines = nodeReadline().createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', onLine);
    lines.on('close', () => resolve());
  });
}

export interface QuickProcessResult {
  /** null when the child could not start or was stopped (by the timeout or a signal). */
  exitCode: number | null;
  stdout: string;
}

/**
 * A short question to a child, answered in milliseconds (can this Python import Alembic?):
 * an argument array, stdout captured, stderr dropped, stopped after `timeoutMs`. Synchronous,
 * so finding the project's Python stays a plain function.
 */
export function runQuickProcess(argv: readonly string[], options: { cwd: string; env: Record<string, string | undefined>; timeoutMs: number }): QuickProcessResult {
  const [file, ...args] = argv;
  const result = nodeChildProcess().spawnSync(file, args, {
    cwd: options.cwd,
    env: options.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: options.timeoutMs,
    windowsHide: true,
  });
  return { exitCode: result.error ? null : result.status, stdout: result.stdout ?? '' };
}

/*
 * Node's child_process and readline, loaded when a process is first started: a status the fast
 * path answers starts none, and loading them (~7 ms, with net) was a tenth of its own time.
 */
function nodeChildProcess(): typeof import('node:child_process') {
  return require('node:child_process') as typeof import('node:child_process');
}

function nodeReadline(): typeof import('node:readline') {
  return require('node:readline') as typeof import('node:readline');
}
