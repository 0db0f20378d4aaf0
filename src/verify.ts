import type { ActionOptions } from './actions';
import { callAlembic, fillCommands } from './alembic';
import { FastkitError } from './errors';
import type { ResultEvent } from './helper-protocol';
import type { MigrateOptions } from './options';
import { counted, displayPath } from './output';
import { withProject, type Project } from './project';
import { shadowProgress, withShadowUrl } from './shadow-database';

export interface VerifyOptions extends MigrateOptions, ActionOptions<'verify'> {}

export type VerifyFinding = ResultEvent<'verify'>['findings'][number];

export interface VerifyReport {
  /** No finding: every revision held the stairway and the models match head. */
  ok: boolean;
  /** The dialect the migrations ran on, e.g. `postgresql`. */
  dialect: string | null;
  /** The shadow server's version (`15.4`); null on SQLite. */
  serverVersion: string | null;
  /** Revisions in the history. */
  revisions: number;
  /** Revisions that held the stairway (it stops at the first that does not). */
  verified: number;
  head: string | null;
  modelsChecked: boolean;
  /** Each with the file it is about and what to do (hints name the door's own commands). */
  findings: VerifyFinding[];
}

/**
 * Every migration proven on a shadow database, and the models compared with head: the
 * stairway (upgrade, downgrade, upgrade again, the schema checked after each downgrade) and
 * Alembic's own models-vs-database comparison, in one Python process and one connection.
 * Findings are printed one a line; any finding fails the action.
 */
export function verify(options: VerifyOptions): Promise<VerifyReport> {
  return withProject(withShadowUrl(options), async (project) => {
    const facts = await callAlembic<ResultEvent<'verify'>>(project, 'verify', {
      onShadow: shadowProgress(project),
      stdoutToStderr: options.json,
    });
    const findings = facts.findings.map((finding) => ({ ...finding, hint: fillCommands(finding.hint, project) }));
    const report: VerifyReport = {
      ok: findings.length === 0,
      dialect: facts.dialect,
      serverVersion: facts.serverVersion,
      revisions: facts.revisions,
      verified: facts.verified,
      head: facts.head,
      modelsChecked: facts.modelsChecked,
      findings,
    };
    if (options.json) project.output.out(JSON.stringify(report));
    else printVerify(report, project);
    if (!report.ok) {
      throw new FastkitError(`Verify found ${counted(findings.length, 'problem')}`, {
        code: 'verify-findings',
        hint: 'Each is listed above with its file and what to do.',
      });
    }
    return report;
  });
}

function printVerify(report: VerifyReport, project: Project): void {
  const { out } = project.output;
  for (const finding of report.findings) out(describeFinding(finding));
  const on = report.dialect ? ` on ${report.dialect}${report.serverVersion ? ` ${report.serverVersion}` : ''}` : '';
  if (report.revisions === 0) out(`No migrations yet: nothing to verify`);
  else if (report.verified === report.revisions) {
    out(`Stairway: ${counted(report.revisions, 'revision')} upgraded, downgraded and upgraded again${on}, each downgrade undoing its upgrade`);
  } else {
    out(`Stairway: stopped at revision ${report.verified + 1} of ${report.revisions}${on}`);
  }
  if (report.modelsChecked) {
    const models = report.findings.filter((finding) => finding.check === 'models').length;
    out(models ? `Models: ${counted(models, 'difference')} from head ${report.head}` : `Models: match head ${report.head ?? '(base)'}`);
  } else if (report.verified < report.revisions) {
    out('Models: not compared (the stairway stopped first)');
  } else if (report.revisions > 0) {
    out('Models: not compared (env.py sets no target_metadata)');
  }
}

/** `alembic/versions/x.py:22: downgrade() raises: … Fix downgrade() so that …` */
export function describeFinding(finding: VerifyFinding): string {
  const where = `${displayPath(finding.file)}${finding.line ? `:${finding.line}` : ''}`;
  const op = finding.op ? ` (${finding.op})` : '';
  return `${where}: ${finding.message}${op}. ${finding.hint}`;
}
