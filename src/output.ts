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

export function createOutput(
  secrets: readonly string[] = [],
  streams: OutputStreams = process,
): Output {
  return {
    out: (line) => streams.stdout.write(maskSecrets(line, secrets) + '\n'),
    err: (line) => streams.stderr.write(maskSecrets(line, secrets) + '\n'),
  };
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
