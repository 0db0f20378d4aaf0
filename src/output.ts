import { relative, sep } from 'node:path';
import { maskSecrets } from './mask';

/** Where the core writes what people read. Every line is masked on the way out. */
export interface Output {
  /** Results: what a user asked to see. */
  out(line: string): void;
  /** Progress, warnings and errors. */
  err(line: string): void;
}

export interface OutputStreams {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

/**
 * Writing never stops an action: a migration half done because its progress line found the
 * disk full (`fastkit migrate run > /dev/full`) is worse than a lost line. A stream that fails
 * is written to no more, and its error is kept for the outermost layer (see {@link writeError}).
 */
export function createOutput(
  secrets: readonly string[] = [],
  streams: OutputStreams = process,
): Output {
  return {
    out: (line) => writeTo(streams.stdout, maskSecrets(line, secrets) + '\n'),
    err: (line) => writeTo(streams.stderr, maskSecrets(line, secrets) + '\n'),
  };
}

const failedStreams = new WeakMap<object, NodeJS.ErrnoException>();

/** Writes to a stream unless writing to it has failed; a write that throws (a file on a full disk) is recorded. */
export function writeTo(stream: { write(chunk: string): unknown }, text: string): void {
  if (failedStreams.has(stream)) return;
  try {
    stream.write(text);
  } catch (error) {
    writeFailed(stream, error as NodeJS.ErrnoException);
  }
}

/** Records why writing to `stream` failed (also for the `error` event of an asynchronous stream); the first reason stays. */
export function writeFailed(stream: object, error: NodeJS.ErrnoException): void {
  if (!failedStreams.has(stream)) failedStreams.set(stream, error);
}

/** The error that stopped writing to `stream`, if one did. */
export function writeError(stream: object): NodeJS.ErrnoException | undefined {
  return failedStreams.get(stream);
}

/** `1 migration`, `3 migrations`: a count as people say it. */
export function counted(count: number, word: string): string {
  return `${count} ${count === 1 ? word : `${word}s`}`;
}

/** A path as people want to read it: relative to where they are, when it is inside that folder. */
export function displayPath(path: string, from = process.cwd()): string {
  const rel = relative(from, path);
  return rel && !rel.startsWith('..') && rel.length < path.length ? rel : path;
}

/** The paths in a message (Alembic's, Python's) as {@link displayPath} shows them. */
export function displayPathsIn(text: string, from = process.cwd()): string {
  const here = from + sep;
  if (here === sep + sep) return text;
  return text.replace(new RegExp(`(?<![\\w.~/\\\\-])${here.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g'), '');
}
