// Watches the argv of processes while a test file runs; started by test/support/secrets.ts.
//   FASTKIT_WATCH_SECRET=<secret> node argv-watch.js <jest worker pid> <report file>
// Every 100 ms it reads /proc/<pid>/cmdline of processes it has seen for less than 3 s (argv is
// set at exec, so older processes need no second look). A process whose argv holds the secret
// and that fastkit started (the process itself or an ancestor below the worker is fastkit's CLI
// or its Python helper) is appended to the report file as one JSON line. It exits when the
// worker is gone.
'use strict';
const { appendFileSync, readdirSync, readFileSync } = require('node:fs');

const [rootPid, reportFile] = process.argv.slice(2);
const secret = process.env.FASTKIT_WATCH_SECRET;
const root = Number(rootPid);
const FASTKIT = /(^|\/)dist\/src\/cli\.js$|(^|\/)\.bin\/fastkit$|(^|\/)fastkit_alembic\.py$/;
const firstSeen = new Map();
const reported = new Set();

function argvOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** The fastkit process at or above `pid`, below the worker; undefined when it is not fastkit's. */
function fastkitAncestor(pid) {
  for (let current = pid, depth = 0; current > 1 && depth < 50; current = parentOf(current), depth++) {
    if (current === root) return undefined;
    const argv = argvOf(current) ?? [];
    if (argv.some((arg) => FASTKIT.test(arg))) {
      // only inside this worker's tree
      for (let above = current; above > 1; above = parentOf(above)) if (above === root) return argv.join(' ');
      return undefined;
    }
  }
  return undefined;
}

function sweep() {
  try {
    process.kill(root, 0);
  } catch {
    process.exit(0);
  }
  const now = Date.now();
  const alive = new Set();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    alive.add(pid);
    if (!firstSeen.has(pid)) firstSeen.set(pid, now);
    if (now - firstSeen.get(pid) > 3000 || reported.has(pid) || pid === process.pid) continue;
    const argv = argvOf(pid);
    if (!argv || !argv.some((arg) => arg.includes(secret))) continue;
    const ancestor = fastkitAncestor(pid);
    if (!ancestor) continue;
    reported.add(pid);
    appendFileSync(reportFile, JSON.stringify({ pid, argv, fastkitAncestor: ancestor }) + '\n');
  }
  for (const pid of firstSeen.keys()) if (!alive.has(pid)) firstSeen.delete(pid);
}

setInterval(sweep, 100);
sweep();
