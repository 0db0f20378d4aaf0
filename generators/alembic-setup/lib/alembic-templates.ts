import type { DeclarativeBase } from '../../../src/declarative-base';
import { templateFolder, type Templates } from '../../../src/generated-files';
import { modelBlock, type ModelImport } from '../../../src/model-imports';
import type { ProjectInfo } from '../../../src/nx-generator';
import { baseImport } from './declarative-base-file';

/** alembic.ini, alembic/env.py and alembic/script.py.mako for `project`, its env.py on `base`. */
export function alembicTemplates(project: ProjectInfo, base: DeclarativeBase, models: ModelImport[]): Templates {
  return {
    folder: templateFolder('alembic-setup', 'migrations'),
    target: project.root,
    substitutions: {
      projectName: project.name,
      databaseFile: databaseFile(project.name),
      baseImport: baseImport(base),
      baseName: base.name,
      modelBlock: modelBlock(models).join('\n'),
    },
  };
}

/** The embedded SQLite file: `api.db` for project `api`, `api.db` for `@acme/api` too. */
export function databaseFile(projectName: string): string {
  const last = projectName.split('/').pop() || 'app';
  return last.replace(/[^A-Za-z0-9_.-]/g, '_') + '.db';
}
