import { readFileSync } from 'node:fs';
import { baseImport, type DeclarativeBase } from '../../../src/declarative-base';
import { UsageError } from '../../../src/errors';
import { envPyMarker, ENV_PY_VERSION } from '../../../src/fastkit-env-py';
import { renderTemplate, templateFolder, type Templates } from '../../../src/generated-files';
import { modelBlock, type ModelImport } from '../../../src/model-imports';
import type { ProjectInfo } from '../../../src/nx-generator';

/** alembic.ini, alembic/env.py and alembic/script.py.mako for `project`, its env.py on `base`. */
export function alembicTemplates(project: ProjectInfo, base: DeclarativeBase, models: ModelImport[], versionTable = 'alembic_version'): Templates {
  const folder = templateFolder('alembic-setup', 'migrations');
  const substitutions = {
    projectName: project.name,
    databaseFile: databaseFile(project.name),
    baseImport: baseImport(base),
    baseName: base.name,
    modelBlock: modelBlock(models).join('\n'),
    versionTable,
  };
  // the marker line seals the env.py as written (src/fastkit-env-py.ts): its hash is of the rest
  const envPy = readFileSync(templateFolder('alembic-setup', 'migrations', 'alembic', 'env.py__tmpl__'), 'utf8');
  const unsealed = renderTemplate(envPy, { ...substitutions, envPyMarker: `# fastkit:env-py ${ENV_PY_VERSION} ${'0'.repeat(16)}` });
  return { folder, target: project.root, substitutions: { ...substitutions, envPyMarker: envPyMarker(unsealed) } };
}

/** The embedded SQLite file: `api.db` for project `api`, `api.db` for `@acme/api` too. */
export function databaseFile(projectName: string): string {
  const last = projectName.split('/').pop() || 'app';
  return last.replace(/[^A-Za-z0-9_.-]/g, '_') + '.db';
}

/**
 * The version table env.py names: a plain SQL name (it is also part of the migration lock's
 * key), short enough for PostgreSQL (63) and MySQL (64).
 */
export function versionTableName(given: string | undefined): string {
  const name = given ?? 'alembic_version';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new UsageError(
      `versionTable ${JSON.stringify(name)} is not a plain table name`,
      'Use letters, digits and underscores, at most 63, not starting with a digit, e.g. orders_alembic_version',
    );
  }
  return name;
}
