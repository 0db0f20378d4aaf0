/**
 * With FASTKIT_TEST_CPU_LOG=<file>, each test file appends one JSON line to it: its path, its
 * stack, its wall time and the CPU time it cost, its worker's own and every process it started
 * and waited for (the kernel adds a reaped child's time, and its children's, to the parent's
 * cutime/cstime in /proc/self/stat), when it started and ended (epoch ms) on which worker, and the same for each of its tests (`tests`, the costliest
 * first; a file's hooks and collection are in its total, not in a test's). How
 * docs/development.md finds what makes the suite slow.
 */
import { appendFileSync, readFileSync } from 'node:fs';

const log = process.env.FASTKIT_TEST_CPU_LOG;

/** utime + stime + cutime + cstime of this process, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  // after "pid (comm) ", utime is field 14 of stat(5): index 11 here; then stime, cutime, cstime
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

const since = (start: { cpu: number; wall: number }) => ({
  cpu: Number((cpuSeconds() - start.cpu).toFixed(2)),
  wall: Number(((Date.now() - start.wall) / 1000).toFixed(1)),
});

if (log) {
  let file = { cpu: 0, wall: 0 };
  let test = { cpu: 0, wall: 0 };
  const tests: Array<{ name: string; cpu: number; wall: number }> = [];
  beforeAll(() => {
    file = { cpu: cpuSeconds(), wall: Date.now() };
  });
  beforeEach(() => {
    test = { cpu: cpuSeconds(), wall: Date.now() };
  });
  afterEach(() => {
    tests.push({ name: expect.getState().currentTestName ?? '', ...since(test) });
  });
  afterAll(() => {
    const line = {
      file: expect.getState().testPath,
      stack: (globalThis as { FASTKIT_TEST_STACK?: string }).FASTKIT_TEST_STACK,
      worker: Number(process.env.JEST_WORKER_ID),
      start: file.wall,
      end: Date.now(),
      ...since(file),
      tests: tests.sort((a, b) => b.cpu - a.cpu),
    };
    appendFileSync(log, `${JSON.stringify(line)}\n`);
  });
}
