/**
 * Replacing a file whole or not at all: the new content goes into a temporary file beside it
 * (same folder, so same file system), which is then renamed over it. A reader never sees half
 * a file, and a failure leaves the old one in place and no temporary behind.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `text` into `file` atomically, making its folder (with `folderMode`) when needed. */
export function writeFileAtomically(file: string, text: string, options: { folderMode?: number } = {}): void {
  const temporary = temporaryBeside(file);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: options.folderMode });
    writeFileSync(temporary, text);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Makes `file`'s folder, has `fill` write the new content into the temporary path it is given,
 * then renames that over `file`. `fileError` turns a failure of the file system itself
 * (making the folder, the rename) into the error to throw; one from `fill` passes as it is.
 */
export async function replaceFile<T>(
  file: string,
  fill: (temporary: string) => Promise<T>,
  fileError: (error: unknown) => unknown = (error) => error,
): Promise<T> {
  const temporary = temporaryBeside(file);
  try {
    fileSystem(() => mkdirSync(dirname(file), { recursive: true }), fileError);
    const result = await fill(temporary);
    fileSystem(() => renameSync(temporary, file), fileError);
    return result;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** This process's own hidden file beside `file`. */
function temporaryBeside(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
}

function fileSystem(step: () => void, fileError: (error: unknown) => unknown): void {
  try {
    step();
  } catch (error) {
    throw fileError(error);
  }
}
