/**
 * What fastkit asks git, read-only, through the one process boundary (src/process.ts): an
 * argument array, no shell, and no optional locks taken (a status-like command never rewrites
 * the index), so asking leaves the repository byte for byte as it was.
 */
import { runProcess } from './process';

export interface GitAnswer {
  exitCode: number;
  /** stdout, line by line. */
  lines: string[];
  /** stderr, for the message when git refuses. */
  stderr: string[];
}

/** Runs `git <args>` in `cwd`; a git that is not installed answers exit code 127. */
export async function askGit(args: readonly string[], cwd: string, env: Record<string, string | undefined> = process.env): Promise<GitAnswer> {
  const lines: string[] = [];
  const stderr: string[] = [];
  try {
    const exit = await runProcess(['git', '-c', 'core.quotePath=false', ...args], {
      cwd,
      env: { ...env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' },
      onStdout: (line) => lines.push(line),
      onStderr: (line) => stderr.push(line),
      onEvent: () => undefined,
    });
    return { exitCode: exit.exitCode, lines, stderr };
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { exitCode: 127, lines, stderr: ['git: command not found'] };
    throw error;
  }
}
