import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { alembicEnvironments } from './alembic-settings';
import { callAlembic, type StepEvent } from './alembic';
import { readDrift, type Drifted } from './drift';
import { FastkitError, UsageError } from './errors';
import { quickStatus, type QuickStatus } from './fast-path';
import type { ResultEvent } from './helper-protocol';
import { commandsInSection, type MakeOptions, type RollbackOptions, type RunOptions, type StatusOptions } from './options';
import { counted, displayPath } from './output';
import { withProject, type Project } from './project';

/** A revision as fastkit reports it. */
export interface RevisionInfo {
  revision: string;
  message: string;
  path: string;
}

export interface MakeResult {
  /** The new revision file, or null when the models did not change. */
  path: string | null;
  revision: string | null;
}

export interface RunResult {
  applied: RevisionInfo[];
  /** With checksums on: applied revisions whose checksum this run recorded before applying anything (back-filled). */
  backfilled?: string[];
}

export interface RollbackResult {
  reverted: RevisionInfo[];
}

export interface StatusReport {
  /** The revision(s) applied to the database; empty at base. */
  current: string[];
  /** The head revision(s) of the history. */
  heads: string[];
  /** What `run` would apply, in order. */
  pending: Array<Pick<RevisionInfo, 'revision' | 'message'>>;
  upToDate: boolean;
  /** With checksums on: applied revisions whose file no longer matches the checksum recorded when it ran. */
  changed?: RevisionInfo[];
  /** With checksums on: applied revisions the database has no checksum of (applied with checksums off). */
  unrecorded?: string[];
  /** With `drift`: how the schema differs from the one its applied revision should have; empty when it does not. */
  drift?: Drifted[];
}

/** `alembic revision --autogenerate -m MESSAGE`, made safe: no empty or broken revisions. */
export function make(options: MakeOptions): Promise<MakeResult> {
  return withProject(options, async (project) => {
    const message = checkMessage(options.message);
    const facts = await callAlembic<{ noChanges: boolean } & Partial<RevisionInfo>>(project, 'make', {
      request: {
        message,
        autogenerate: options.autogenerate ?? true,
        // Alembic takes --version-path from where it runs; the user gave it from the door's root
        ...(options.versionPath ? { versionPath: resolve(options.root ?? process.cwd(), options.versionPath) } : {}),
      },
    });
    if (facts.noChanges || !facts.path) {
      project.output.out('No changes detected');
      return { path: null, revision: null };
    }
    project.output.out(`Created ${displayPath(facts.path)}`);
    project.output.out(`Review it, then apply it with \`${project.commands.run}\``);
    return { path: facts.path, revision: facts.revision ?? null };
  });
}

/** `alembic upgrade head`: silent when nothing is pending. */
export function run(options: RunOptions): Promise<RunResult> {
  return withProject(options, async (project) => {
    // with checksums, Python runs even with nothing pending: a database without records gets them then
    if (!options.checksums && (await quickStatus(project))?.upToDate) return { applied: [] };
    const steps = stepsOf(project);
    const facts = await steps.saying(
      callAlembic<ResultEvent<'run'>>(project, 'run', { onStep: steps.onStep, request: { checksums: options.checksums ?? false } }),
    );
    const backfilled = facts.checksums?.backfilled ?? [];
    if (backfilled.length > 0) {
      project.output.out(
        `Recorded the checksums of ${counted(backfilled.length, 'migration')} applied before checksums were on, in ${facts.checksums!.table}`,
      );
    }
    if (facts.applied.length > 0) {
      const last = facts.applied[facts.applied.length - 1];
      project.output.out(`Now at ${last.revision}${facts.heads.includes(last.revision) ? ' (head)' : ''}`);
    }
    return { applied: facts.applied, ...(options.checksums ? { backfilled } : {}) };
  });
}

/** `alembic downgrade -1`: exactly one step, on purpose. */
export function rollback(options: RollbackOptions): Promise<RollbackResult> {
  return withProject(options, async (project) => {
    const steps = stepsOf(project);
    const facts = await steps.saying(
      callAlembic<{ reverted: Array<RevisionInfo & { to: string[] }> }>(project, 'rollback', {
        onStep: steps.onStep,
        request: { checksums: options.checksums ?? false },
      }),
    );
    const [undone] = facts.reverted;
    if (undone) project.output.out(`Now at ${undone.to.length ? undone.to.join(', ') : 'base (no migration applied)'}`);
    return { reverted: facts.reverted };
  });
}

/** Every Alembic environment of the ini (its sections with a script_location), each with its status. */
export interface SectionsStatusReport {
  sections: Record<string, StatusReport>;
  /** Every section is at its head. */
  upToDate: boolean;
}

/** `alembic current`, plus what is pending and how to apply it; with `allSections`, for each Alembic environment of the ini. */
export function status(options: StatusOptions & { allSections: true }): Promise<SectionsStatusReport>;
export function status(options: StatusOptions): Promise<StatusReport>;
export function status(options: StatusOptions): Promise<StatusReport | SectionsStatusReport> {
  return withProject(options, async (project) => {
    if (options.allSections) return statusOfSections(project, options);
    const drifted = options.drift ? await readDrift(project, options.json) : undefined;
    const report: StatusReport = drifted
      ? {
          current: drifted.current,
          heads: drifted.heads,
          pending: drifted.pending.map(({ revision, message }) => ({ revision, message })),
          upToDate: drifted.upToDate,
          drift: drifted.drift,
        }
      : await statusReport(project, options);
    if (options.json) project.output.out(JSON.stringify(report));
    else printStatus(report, project);
    if (options.check && report.changed?.length) {
      throw new FastkitError(`${counted(report.changed.length, 'applied migration')} changed since the database ran ${report.changed.length === 1 ? 'it' : 'them'}`, {
        code: 'revision-changed',
        hint: 'Undo the edits and make the changes in a new revision: databases that ran the old text keep it.',
      });
    }
    if (options.check && !report.upToDate) throw notAtHead(report, project);
    if (report.drift?.length) {
      throw new FastkitError(`The database's schema differs from its revision's: ${counted(report.drift.length, 'difference')}`, {
        code: 'drift',
        hint: 'Each is listed above: undo the change by hand, or make a migration that does it.',
      });
    }
    return report;
  });
}

/** What status reports: the fast path's answer where it is certain (never with checksums: it reads the version table only), else Alembic's. */
async function statusReport(project: Project, options: Pick<StatusOptions, 'json' | 'checksums'>): Promise<StatusReport> {
  const facts: QuickStatus & Partial<Pick<ResultEvent<'status'>, 'checksums'>> =
    (!options.checksums ? await quickStatus(project) : undefined) ??
    (await callAlembic<ResultEvent<'status'>>(project, 'status', {
      stdoutToStderr: options.json,
      request: { checksums: options.checksums ?? false },
    }));
  return {
    current: facts.current,
    heads: facts.heads,
    pending: facts.pending.map(({ revision, message }) => ({ revision, message })),
    upToDate: facts.upToDate,
    ...(facts.checksums
      ? { changed: facts.checksums.changed.map((info) => ({ ...info, path: displayPath(info.path) })), unrecorded: facts.checksums.unrecorded }
      : {}),
  };
}

function notAtHead(report: StatusReport, project: Project, section?: string): FastkitError {
  const where = section === undefined ? '' : ` [${section}]`;
  return new FastkitError(
    report.heads.length > 1
      ? `The history${where} has ${report.heads.length} heads`
      : `The database${where} is behind head: ${counted(report.pending.length, 'pending migration')}`,
    {
      code: 'not-at-head',
      hint:
        report.heads.length > 1
          ? `Merge them with \`${project.commands.rebase} --merge\`, then \`${project.commands.run}\`.`
          : `${applyThem(report.pending.length)} with \`${project.commands.run}\`.`,
    },
  );
}

/**
 * The status of each Alembic environment of the ini, one after the other, each under its
 * section's name; `--check` fails (naming the first one behind) unless every one is at head.
 */
async function statusOfSections(project: Project, options: StatusOptions): Promise<SectionsStatusReport> {
  if (options.name) {
    // in words every door shares: the CLI spells these --all-sections and -n, Nx allSections and name
    throw new UsageError('All sections and one section (by its name) were both asked for', 'Ask for one of them: every section, or one by its name.');
  }
  const sections = alembicEnvironmentsOf(project.config);
  const reports: Record<string, StatusReport> = {};
  // each section's hints name its commands with the section
  const inSection = (section: string): Project => ({ ...project, name: section, commands: commandsInSection(project.commands, section) });
  for (const section of sections) {
    if (!options.json) project.output.out(`[${section}]`);
    reports[section] = await statusReport(inSection(section), options);
    if (!options.json) printStatus(reports[section], inSection(section), '  ');
  }
  const result = { sections: reports, upToDate: Object.values(reports).every((report) => report.upToDate) };
  if (options.json) project.output.out(JSON.stringify(result));
  const behind = Object.entries(reports).find(([, report]) => !report.upToDate);
  if (options.check && behind) throw notAtHead(behind[1], inSection(behind[0]), behind[0]);
  return result;
}

/** The sections `allSections` reports: the ini's Alembic environments; a pyproject.toml has the one. */
function alembicEnvironmentsOf(config: string): string[] {
  if (!config.endsWith('.ini')) return ['alembic'];
  const sections = alembicEnvironments(readFileSync(config, 'utf8'));
  return sections.length ? sections : ['alembic'];
}

function printStatus(report: StatusReport, project: Project, indent = ''): void {
  const out = (line: string) => project.output.out(indent + line);
  if (report.heads.length > 1) {
    out(`Multiple heads: ${report.heads.join(', ')}`);
    out(`Merge them with \`${project.commands.rebase} --merge\`, then \`${project.commands.run}\``);
  }
  if (report.current.length === 0) {
    out(report.heads.length === 0 ? 'No migrations yet (base)' : 'No migration applied (base)');
  }
  for (const revision of report.current) {
    out(report.heads.includes(revision) ? `${revision} (head)` : revision);
  }
  if (report.pending.length > 0) {
    out(`${counted(report.pending.length, 'pending migration')}:`);
    const width = Math.max(...report.pending.map(({ revision }) => revision.length));
    for (const { revision, message } of report.pending) out(`  ${revision.padEnd(width)}  ${message}`);
    out(`${applyThem(report.pending.length)} with \`${project.commands.run}\``);
  }
  if (report.drift) {
    const at = report.current.length ? `revision ${report.current.join(', ')}` : 'base';
    if (report.drift.length === 0) out(`No drift: the schema is the one the migrations make up to ${at}`);
    else {
      out(`Drift: ${counted(report.drift.length, 'difference')} from the schema the migrations make up to ${at}:`);
      for (const { message } of report.drift) out(`  ${message}`);
    }
  }
  printChecksums(report, project);
}

/** status with checksums: the applied revisions whose file is not what the database ran, and those it has no record of. */
function printChecksums(report: StatusReport, project: Project): void {
  const { out } = project.output;
  const changed = report.changed ?? [];
  if (changed.length > 0) {
    out(`${counted(changed.length, 'applied migration')} changed since the database ran ${changed.length === 1 ? 'it' : 'them'}:`);
    const width = Math.max(...changed.map(({ revision }) => revision.length));
    for (const { revision, message, path } of changed) out(`  ${revision.padEnd(width)}  ${message}  (${path})`);
    out('Undo the edits and make the changes in a new revision: databases that ran the old text keep it');
  }
  const unrecorded = report.unrecorded ?? [];
  if (unrecorded.length > 0) {
    out(
      `${counted(unrecorded.length, 'applied migration')} without a recorded checksum: \`${project.commands.run} --checksums\` records ${unrecorded.length === 1 ? 'it' : 'them'}`,
    );
  }
}

/**
 * Each migration printed as Alembic starts it; and, should the run fail or be interrupted
 * where DDL commits as it runs (MySQL, MariaDB), which revision may be left partly applied and
 * how to look at it: Alembic's version table still names the one before.
 */
function stepsOf(project: Project) {
  let current: StepEvent | undefined;
  return {
    onStep(step: StepEvent) {
      current = step;
      project.output.out(describeStep(step));
    },
    async saying<T>(running: Promise<T>): Promise<T> {
      try {
        return await running;
      } catch (error) {
        if (!(error instanceof FastkitError) || current?.transactionalDdl !== false) throw error;
        throw new FastkitError(
          `${error.message.replace(/\.+$/, '')}. ${databaseName(current.dialect)} commits DDL as it runs: ` +
            `revision ${current.revision} (${current.message}) may be partly applied`,
          {
            hint:
              `Compare the database with ${displayPath(current.path)} (SHOW CREATE TABLE for each table it changes) and finish or undo its changes by hand; ` +
              `\`${project.commands.status}\` names the last revision applied in full.`,
            code: error.code,
            detail: error.detail,
          },
        );
      }
    },
  };
}

function databaseName(dialect: string | undefined): string {
  const names: Record<string, string> = { mysql: 'MySQL/MariaDB', mariadb: 'MariaDB', oracle: 'Oracle', mssql: 'SQL Server', sqlite: 'SQLite' };
  return (dialect && names[dialect]) ?? 'This database';
}

function describeStep(step: StepEvent): string {
  const ends = (revisions: string[] | undefined) => (revisions && revisions.length ? revisions.join(', ') : 'base');
  return step.direction === 'upgrade'
    ? `Running upgrade ${ends(step.from)} -> ${step.revision}, ${step.message}`
    : `Running downgrade ${step.revision} -> ${ends(step.to)}, ${step.message}`;
}

function checkMessage(message: string | undefined): string {
  if (message === undefined || message.trim() === '') {
    throw new UsageError('A message is required', 'Describe the change with -m, e.g. -m "create_invoices".');
  }
  if (/[\r\n]/.test(message)) {
    throw new UsageError('The message must be one line', 'Put details in the revision file instead.');
  }
  return message.trim();
}

function applyThem(count: number): string {
  return count === 1 ? 'Apply it' : 'Apply them';
}

