import type { ActionOptions } from './actions';
import { callAlembic, fillCommands } from './alembic';
import { FastkitError } from './errors';
import type { MigrateOptions } from './options';
import { counted, displayPath } from './output';
import { withProject, type Project } from './project';

export interface CheckOptions extends MigrateOptions, ActionOptions<'check'> {}

/** One problem found in a revision file. */
export interface CheckFinding {
  /** A stable name, e.g. `multiple-heads` or `drop-column` (python/fastkit_check.py lists them). */
  code: string;
  /** The revision file, as the user reads paths (relative to the current folder). */
  file: string;
  line: number;
  message: string;
  /** What to do about it, where there is one thing to do. */
  hint?: string;
}

export interface CheckReport {
  /** No errors: the history can be applied as it is. */
  ok: boolean;
  /** How many revisions the history has. */
  revisions: number;
  heads: string[];
  /** Each fails the check: more than one head, a missing or duplicate revision, a file that does not compile, a version_locations folder that is not there. */
  errors: CheckFinding[];
  /** Printed, the check passes: dropped tables and columns, lossy type changes, likely renames, downgrades that do nothing, file names off the file_template. */
  warnings: CheckFinding[];
}

/** A finding as the helper reports it (absolute path, hint with `{alembic}` placeholders). */
interface RawFinding extends Omit<CheckFinding, 'hint'> {
  level: 'error' | 'warning';
  hint?: string | null;
}

interface ShownFinding extends CheckFinding {
  level: 'error' | 'warning';
}

/**
 * The revision history verified from its files alone, without a database: what would break a
 * deploy is an error (thrown after the report is printed), what can lose data is a warning.
 */
export function check(options: CheckOptions): Promise<CheckReport> {
  return withProject(options, async (project) => {
    const facts = await callAlembic<{ revisions: number; heads: string[]; findings: RawFinding[] }>(project, 'check', {
      stdoutToStderr: options.json,
    });
    const findings = facts.findings.map((finding) => shown(finding, project));
    const report: CheckReport = {
      ok: !findings.some((finding) => finding.level === 'error'),
      revisions: facts.revisions,
      heads: facts.heads,
      errors: findings.filter((finding) => finding.level === 'error').map(withoutLevel),
      warnings: findings.filter((finding) => finding.level === 'warning').map(withoutLevel),
    };
    if (options.json) project.output.out(JSON.stringify(report));
    else printReport(report, findings, project);
    if (!report.ok) {
      throw new FastkitError(`Migration check failed: ${counted(report.errors.length, 'error')}`, {
        code: 'check-failed',
        hint: options.json ? 'The errors are in the JSON result.' : 'Each is listed above with its file and line.',
      });
    }
    return report;
  });
}

function printReport(report: CheckReport, findings: ShownFinding[], project: Project): void {
  const { out } = project.output;
  for (const finding of findings) {
    out(`${finding.file}:${finding.line}: ${finding.level}: ${finding.message}${finding.hint ? `. ${finding.hint}` : ''}`);
  }
  if (report.revisions === 0 && findings.length === 0) {
    out('No revisions yet: nothing to check');
    return;
  }
  const heads = report.heads.length === 1 ? ` (head ${report.heads[0]})` : '';
  const errors = report.errors.length ? counted(report.errors.length, 'error') : 'no errors';
  const warnings = report.warnings.length ? counted(report.warnings.length, 'warning') : 'no warnings';
  out(`Checked ${counted(report.revisions, 'revision')}${heads}: ${errors}, ${warnings}`);
}

function shown(finding: RawFinding, project: Project): ShownFinding {
  return {
    ...finding,
    file: displayPath(finding.file),
    hint: finding.hint ? fillCommands(finding.hint, project) : undefined,
  };
}

function withoutLevel({ level: _level, hint, ...finding }: ShownFinding): CheckFinding {
  return hint ? { ...finding, hint } : finding;
}

