import { dirname, join, resolve } from 'node:path';
import { DEFAULT_SQL_OUTPUT, type ActionOptions } from './actions';
import { callAlembic } from './alembic';
import { FastkitError, UsageError } from './errors';
import type { RevisionInfo } from './migrate';
import type { MigrateOptions } from './options';
import { counted, displayPath } from './output';
import { withProject } from './project';
import { replaceFile } from './write-atomically';

export interface SqlOptions extends MigrateOptions, ActionOptions<'sql'> {}

export interface SqlResult {
  /** The SQL file written. */
  path: string;
  /** The dialect the SQL is for, e.g. `postgresql`. */
  dialect: string;
  /** The migrations it holds, in order. */
  migrations: Array<Pick<RevisionInfo, 'revision' | 'message'>>;
}

/**
 * `alembic upgrade [FROM:]head --sql`: the upgrade SQL rendered by env.py's offline mode into a
 * file, for reviewers and DBAs; no database is contacted. The file is replaced whole or not at
 * all (written beside it, then renamed).
 */
export async function sql(options: SqlOptions): Promise<SqlResult> {
  const dialect = checkDialect(options.dialect);
  const from = checkFrom(options.from);
  const url = dialect ? `${dialect}://` : undefined;
  const env = url ? { ...options.env, DATABASE_URL: url } : options.env;
  return withProject({ ...options, env }, async (project) => {
    const output = options.output
      ? resolve(options.root ?? process.cwd(), options.output)
      : join(dirname(project.config), DEFAULT_SQL_OUTPUT);
    const facts = await replaceFile(
      output,
      (temporary) =>
        callAlembic<{ dialect: string; applied: RevisionInfo[]; heads: string[]; start: string | null; written?: string[] }>(project, 'sql', {
          request: { output: temporary, url, dialect, from },
        }),
      (error) => cannotWrite(output, error),
    );
    // env.py may render each revision once per database (the multidb template)
    const migrations = facts.applied
      .filter(({ revision }, index) => facts.applied.findIndex((other) => other.revision === revision) === index)
      .map(({ revision, message }) => ({ revision, message }));
    project.output.out(`Wrote ${displayPath(output)} (${describe(facts.dialect, facts.start, facts.heads, migrations.length)})`);
    if (facts.written?.length) {
      project.output.out(`env.py wrote the SQL into ${facts.written.map((path) => displayPath(path)).join(', ')} itself; ${displayPath(output)} holds a copy of each`);
    }
    return { path: output, dialect: facts.dialect, migrations };
  });
}

function describe(dialect: string, start: string | null, heads: string[], count: number): string {
  if (count === 0) return `${dialect}, no migrations to apply`;
  return `${dialect}, ${start ?? 'base'} -> ${heads.join(', ')}, ${counted(count, 'migration')}`;
}

function checkDialect(dialect: string | undefined): string | undefined {
  if (dialect === undefined || dialect === '') return undefined;
  if (!/^[A-Za-z][A-Za-z0-9_]*(\+[A-Za-z0-9_]+)?$/.test(dialect)) {
    throw new UsageError(
      /[:@/]/.test(dialect) ? 'The dialect option holds a URL, not a dialect name' : `"${dialect}" is not a dialect name`,
      'Give a SQLAlchemy dialect such as postgresql, mysql, mariadb or sqlite (optionally with a driver: postgresql+psycopg).',
    );
  }
  return dialect;
}

function checkFrom(from: string | undefined): string | undefined {
  if (from === undefined) return undefined;
  if (!/^[\w.@+-]+$/.test(from)) {
    throw new UsageError(`"${from}" is not a revision`, 'Give a revision id (or a unique prefix of one), e.g. --from a719d4f7b98f.');
  }
  return from;
}

function cannotWrite(output: string, error: unknown): FastkitError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new FastkitError(`Cannot write ${displayPath(output)} (${reason})`, {
    code: 'output',
    hint: 'Choose another output file, or make its folder writable.',
  });
}
