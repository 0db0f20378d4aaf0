import { joinPathFragments } from '@nx/devkit';
import type { DeclarativeBase } from '../../../src/declarative-base';
import { templateFolder, type Templates } from '../../../src/generated-files';
import type { ProjectInfo } from '../../../src/nx-generator';

/**
 * The Base fastkit writes where a project has none: `database.py` in the project folder, a
 * `DeclarativeBase` with a naming convention for constraints. The module generator writes it
 * too, for a project that has Alembic but no Base yet.
 */
export function newDeclarativeBase(project: ProjectInfo): DeclarativeBase {
  return { file: joinPathFragments(project.root, 'database.py'), module: 'database', name: 'Base' };
}

export function declarativeBaseTemplates(project: ProjectInfo): Templates {
  return {
    folder: templateFolder('alembic-setup', 'declarative-base'),
    target: project.root,
    substitutions: { projectName: project.name },
  };
}

/** `from database import Base`, the line that brings the Base into env.py and models.py. */
export function baseImport(base: DeclarativeBase): string {
  return `from ${base.module} import ${base.name}`;
}
