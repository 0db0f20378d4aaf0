/**
 * The suite-wide "no leaked password" check. Every DATABASE_URL the support helpers build
 * carries a password (the sentinel for PostgreSQL, the real one for MariaDB); every output the
 * helpers capture (`run()` and so `fastkit()`, `nx()`, `bin()`; `startFastkit()`) is scanned
 * for those passwords, and a watcher process reads the argv of every process fastkit starts
 * while the tests run (spawnSync blocks this process, so the watcher is a process of its own).
 * test/support/no-leaks.ts, a jest setup file, fails the test during which a leak showed up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The password in every PostgreSQL URL of the suite. It must never be printed or put in an argv. */
export const SENTINEL_PASSWORD = 'FkSentinel-7q2Wx9';

/** The MariaDB test user's password (scripts/setup.mjs creates that user); it is in its URLs. */
export const MARIADB_PASSWORD = 'fk-test-pw';

/** Passwords that no captured output may contain. */
export const OUTPUT_SECRETS = [SENTINEL_PASSWORD, MARIADB_PASSWORD];

export interface Leak {
  /** Where it was seen: `output of …` or `argv of …`. */
  where: string;
  /** The line that holds the password. */
  line: string;
}

const leaks: Leak[] = [];

/** Scans what a command printed; a password in it is recorded as a leak. */
export function noteOutput(argv: readonly string[], output: string): void {
  for (const line of output.split('\n')) {
    if (OUTPUT_SECRETS.some((secret) => line.includes(secret))) {
      leaks.push({ where: `output of ${argv.join(' ')}`, line });
    }
  }
}

/** The leaks recorded since the last call (the output scan and the argv watcher together). */
export function takeLeaks(): Leak[] {
  return [...leaks.splice(0), ...(watcher?.take() ?? [])];
}

interface ArgvWatch {
  take(): Leak[];
  stop(): void;
}

let watcher: ArgvWatch | undefined;

/**
 * Starts test/support/argv-watch.js for this test file, once, before the first process the
 * support helpers start (test files that start none, like the unit tests, never run it): it
 * reports any process that fastkit started (its CLI, its Python helper, or their children)
 * whose argv holds the sentinel.
 */
export function startArgvWatch(): void {
  if (watcher || process.platform !== 'linux') return;
  const file = join(tmpdir(), `fastkit-argv-watch-${process.pid}-${Date.now()}.jsonl`);
  // the secret goes by environment: an argv is readable by everyone on the machine
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'argv-watch.js'), String(process.pid), file], {
    stdio: 'ignore',
    env: { ...process.env, FASTKIT_WATCH_SECRET: SENTINEL_PASSWORD },
  });
  child.unref();
  let read = 0;
  watcher = {
    take() {
      if (!existsSync(file)) return [];
      const text = readFileSync(file, 'utf8');
      const fresh = text.slice(read);
      read = text.length;
      return fresh
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const found = JSON.parse(line) as { pid: number; argv: string[]; fastkitAncestor: string };
          return { where: `argv of pid ${found.pid} (fastkit's own, or started by ${found.fastkitAncestor})`, line: found.argv.join(' ') };
        });
    },
    stop() {
      child.kill();
      rmSync(file, { force: true });
      watcher = undefined;
    },
  };
}

/** Stops the watcher; what it saw until then is still returned by the last takeLeaks(). */
export function stopArgvWatch(): Leak[] {
  const last = watcher?.take() ?? [];
  watcher?.stop();
  return last;
}

export function describeLeaks(found: Leak[]): string {
  return [
    `A database password leaked (${found.length}×): fastkit must mask it in output and never put it in an argv.`,
    ...found.map((leak) => `  ${leak.where}:\n    ${leak.line}`),
  ].join('\n');
}
