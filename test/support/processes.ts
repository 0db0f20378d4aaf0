/** Long-running fastkit processes for tests that need concurrency or signals. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noteOutput, startArgvWatch } from './secrets';
import { CLI, tempDir, VENV } from './workspace';

export interface Started {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr together. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  /** Resolves once the output contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

export function startFastkit(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Started {
  startArgvWatch();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, VIRTUAL_ENV: VENV, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => {
      noteOutput(['fastkit', ...args], text);
      resolve({ code, signal, output: text });
    }),
  );
  const waitFor = (pattern: string | RegExp, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const matches = () => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
      if (matches()) return resolve();
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`));
      }, timeoutMs);
      const check = () => {
        if (matches()) {
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        }
      };
      listeners.add(check);
      exited.then(() => {
        if (!matches()) {
          clearTimeout(timer);
          listeners.delete(check);
          reject(new Error(`exited before printing ${pattern}; output:\n${text}`));
        }
      });
    });
  return { child, output: () => text, exited, waitFor };
}

/** Processes whose parent is `pid`, read from /proc. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** The command line of a process, as /proc shows it to anyone on the machine. */
export function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Pids of running processes whose command line contains `text`. */
export function processesMatching(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && argvOf(pid).join(' ').includes(text));
}

/** Pids of fastkit's Python helper (python/fastkit_alembic.py) running in the folder `cwd`. */
export function helpersRunningIn(cwd: string): number[] {
  const folder = realpathSync(cwd);
  return processesMatching('fastkit_alembic.py').filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === folder;
    } catch {
      return false; // gone meanwhile
    }
  });
}

/**
 * `count` runs of `fastkit migrate run` started at once on a project whose pending migration is
 * SLOW_REVISION: the first to take the lock holds it until another has printed that it waits
 * for it (the event, not a guess at how long the others take to start). Their ends.
 */
export async function runsAtOnce(count: number, cwd: string, env: Record<string, string> = {}) {
  const release = join(tempDir('fastkit-release-'), 'release');
  const runs = Array.from({ length: count }, () =>
    startFastkit(['migrate', 'run'], { cwd, env: { ...env, ALL_RUNS: String(count), RELEASE_FILE: release } }),
  );
  try {
    await Promise.any(runs.map((run) => run.waitFor('Waiting for another migration to finish', 120_000)));
  } finally {
    writeFileSync(release, ''); // waited for or not, the holder lets go: the assertions then say what happened
  }
  return Promise.all(runs.map((run) => run.exited));
}
