import { baseImport, type DeclarativeBase } from '../../../src/declarative-base';
import { templateFolder, type Templates } from '../../../src/generated-files';
import type { ProjectInfo } from '../../../src/nx-generator';
import type { SqlalchemySeries } from '../../../src/sqlalchemy-series';

import type { Model } from './plan-model';

/** modules/<name>/__init__.py and modules/<name>/models.py, the model on the project's Base. */
export function moduleTemplates(project: ProjectInfo, model: Model, base: DeclarativeBase, sqlalchemy: SqlalchemySeries): Templates {
  return {
    folder: templateFolder('module', 'model'),
    target: project.root,
    substitutions: {
      name: model.moduleName,
      className: model.className,
      tableName: model.tableName,
      baseImport: baseImport(base),
      baseName: base.name,
      sqlalchemy,
    },
  };
}
