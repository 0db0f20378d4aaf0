import { formatFiles, logger, type GeneratorCallback, type Tree } from '@nx/devkit';
import { declarativeBaseTemplates, findDeclarativeBase, newDeclarativeBase, type DeclarativeBase } from '../../src/declarative-base';
import { join } from 'node:path';
import { sqlalchemySeries } from '../../src/sqlalchemy-series';
import { nxGenerator, projectInfo, type ProjectInfo } from '../../src/nx-generator';
import { alembicTemplates, versionTableName } from './lib/alembic-templates';
import { projectModelImports } from '../../src/alembic-tree';
import { keepVersionsFolder } from './lib/versions-folder';
import { writeOrRefuse } from './lib/write-or-refuse';
import type { AlembicSetupGeneratorSchema } from './schema';

/**
 * `nx g fastkit:alembic-setup --project api`: alembic.ini, alembic/env.py (on the project's
 * Base, importing every existing model), alembic/script.py.mako and alembic/versions/, plus a
 * database.py with a Base where the project has none.
 */
export async function alembicSetupGenerator(tree: Tree, options: AlembicSetupGeneratorSchema): Promise<GeneratorCallback> {
  const project = await projectInfo(tree, options.project);
  const versionTable = versionTableName(options.versionTable);
  const foundBase = findDeclarativeBase(tree, project.root);
  const base = foundBase ?? newDeclarativeBase(project);
  const sqlalchemy = sqlalchemySeries(options.sqlalchemy, join(tree.root, project.root));
  const models = projectModelImports(tree, project.root, base.name);

  const written = writeOrRefuse(
    tree,
    [alembicTemplates(project, base, models, versionTable), ...(foundBase ? [] : [declarativeBaseTemplates(project, sqlalchemy)])],
    options.force,
  );
  const keptVersions = keepVersionsFolder(tree, project);
  if (foundBase) logger.info(`Found the project's declarative Base: ${base.name} in ${base.file}.`);

  if (!options.skipFormat) await formatFiles(tree);
  const nothingChanged = written.length === 0 && !keptVersions;
  return () => {
    if (nothingChanged) logger.info(`Alembic is already set up in ${project.root} as fastkit writes it; nothing changed.`);
    else printNextSteps(project, base);
  };
}

function printNextSteps(project: ProjectInfo, base: DeclarativeBase): void {
  logger.info(
    [
      `Alembic is set up in ${project.root}; models inherit ${base.name} from ${base.file}.`,
      `Next: nx g fastkit:module invoices --project ${project.name}`,
      `      nx run ${project.name}:migrate-make -m "create invoices"`,
    ].join('\n'),
  );
}

export default nxGenerator(alembicSetupGenerator);
