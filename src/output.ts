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
