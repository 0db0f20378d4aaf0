import { callAlembic, type StepEvent } from './alembic';
import { readDrift, type Drifted } from './drift';
import { FastkitError, UsageError } from './errors';
import { quickStatus } from './fast-path';
import type { MakeOptions, MigrateOptions, StatusOptions } from './options';
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
  /** With `drift`: how the schema differs from the one its applied revision should have; empty when it does not. */
  drift?: Drifted[];
}

/** `alembic revision --autogenerate -m MESSAGE`, made safe: no empty or broken revisions. */
export function make(options: MakeOptions): Promise<MakeResult> {
  return withProject(options, async (project) => {
    const message = checkMessage(options.message);
    const facts = await callAlembic<{ noChanges: boolean } & Partial<RevisionInfo>>(project, 'make', {
      request: { message, autogenerate: options.autogenerate ?? true },
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
export function run(options: MigrateOptions): Promise<RunResult> {
  return withProject(options, async (project) => {
    if ((await quickStatus(project))?.upToDate) return { applied: [] };
    const steps = stepsOf(project);
    const facts = await steps.saying(callAlembic<{ applied: RevisionInfo[]; heads: string[] }>(project, 'run', { onStep: steps.onStep }));
    if (facts.applied.length > 0) {
      const last = facts.applied[facts.applied.length - 1];
      project.output.out(`Now at ${last.revision}${facts.heads.includes(last.revision) ? ' (head)' : ''}`);
    }
    return { applied: facts.applied };
  });
}

/** `alembic downgrade -1`: exactly one step, on purpose. */
export function rollback(options: MigrateOptions): Promise<RollbackResult> {
  return withProject(options, async (project) => {
    const steps = stepsOf(project);
    const facts = await steps.saying(
      callAlembic<{ reverted: Array<RevisionInfo & { to: string[] }> }>(project, 'rollback', { onStep: steps.onStep }),
    );
    const [undone] = facts.reverted;
    if (undone) project.output.out(`Now at ${undone.to.length ? undone.to.join(', ') : 'base (no migration applied)'}`);
    return { reverted: facts.reverted };
  });
}

/** `alembic current`, plus what is pending and how to apply it. */
export function status(options: StatusOptions): Promise<StatusReport> {
  return withProject(options, async (project) => {
    const drifted = options.drift ? await readDrift(project, options.json) : undefined;
    const facts =
      drifted ??
      (await quickStatus(project)) ??
      (await callAlembic<StatusReport & { pending: RevisionInfo[] }>(project, 'status', { stdoutToStderr: options.json }));
    const report: StatusReport = {
      current: facts.current,
      heads: facts.heads,
      pending: facts.pending.map(({ revision, message }) => ({ revision, message })),
      upToDate: facts.upToDate,
      ...(drifted ? { drift: drifted.drift } : {}),
    };
    if (options.json) project.output.out(JSON.stringify(report));
    else printStatus(report, project);
    if (options.check && !report.upToDate) {
      throw new FastkitError(
        report.heads.length > 1
          ? `The history has ${report.heads.length} heads`
          : `The database is behind head: ${counted(report.pending.length, 'pending migration')}`,
        {
          code: 'not-at-head',
          hint:
            report.heads.length > 1
              ? `Merge them with \`${project.python.alembic} merge heads -m "merge heads"\`, then \`${project.commands.run}\`.`
              : `${applyThem(report.pending.length)} with \`${project.commands.run}\`.`,
        },
      );
    }
    if (report.drift?.length) {
      throw new FastkitError(`The database's schema differs from its revision's: ${counted(report.drift.length, 'difference')}`, {
        code: 'drift',
        hint: 'Each is listed above: undo the change by hand, or make a migration that does it.',
      });
    }
    return report;
  });
}

function printStatus(report: StatusReport, project: Project): void {
  const { out } = project.output;
  if (report.heads.length > 1) {
    out(`Multiple heads: ${report.heads.join(', ')}`);
    out(`Merge them with \`${project.python.alembic} merge heads -m "merge heads"\`, then \`${project.commands.run}\``);
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

