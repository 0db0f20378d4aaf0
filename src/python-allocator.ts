/**
 * How the helper's Python takes its memory on Linux. Importing Alembic and SQLAlchemy touches
 * about 50 MB in small objects; pymalloc, Python's default, takes it in 1 MiB arenas of 4 KiB
 * pages, about 11,000 page faults per run. glibc's malloc on transparent huge pages
 * (`PYTHONMALLOC=malloc`, `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`) takes it in 2 MiB pages:
 * about 3,000 faults, and a third less system time (docs/performance.md, `npm run bench` row
 * helper-allocator). It helps only where all of that holds: Linux, glibc 2.35 or later (older
 * ones ignore the tunable), the kernel's transparent huge pages in `always` or `madvise` mode;
 * elsewhere plain malloc is slower than pymalloc, so nothing is set. A user who set either
 * variable keeps theirs. Alembic's behaviour does not depend on the allocator.
 */
import { readFileSync } from 'node:fs';

type Environment = Record<string, string | undefined>;

/** What the machine offers: `hugePages` is the kernel's transparent huge page mode. */
export interface Machine {
  platform: NodeJS.Platform;
  /** glibc's version (`2.36`), or undefined where Node does not run on glibc. */
  glibc: string | undefined;
  /** The selected mode of /sys/kernel/mm/transparent_hugepage/enabled: always, madvise or never. */
  hugePages: string | undefined;
}

/** The variables to add to the helper's environment `env` (none where they would not help). */
export function hugePageAllocation(env: Environment, machine: Machine = thisMachine()): Environment {
  if (env.PYTHONMALLOC !== undefined || env.GLIBC_TUNABLES !== undefined) return {};
  if (machine.platform !== 'linux' || !atLeast(machine.glibc, [2, 35])) return {};
  if (machine.hugePages !== 'always' && machine.hugePages !== 'madvise') return {};
  return { PYTHONMALLOC: 'malloc', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' };
}

let known: Machine | undefined;

/** This machine, read once per process (Node's report names the glibc it runs on). */
export function thisMachine(): Machine {
  if (known) return known;
  const linux = process.platform === 'linux';
  const header = linux ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header : undefined;
  known = { platform: process.platform, glibc: header?.glibcVersionRuntime, hugePages: linux ? hugePageMode() : undefined };
  return known;
}

/** `always [madvise] never` → `madvise`. */
function hugePageMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function atLeast(version: string | undefined, minimum: [number, number]): boolean {
  const match = version && /^(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > minimum[0] || (major === minimum[0] && minor >= minimum[1]);
}
