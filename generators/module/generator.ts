import { formatFiles, logger, type GeneratorCallback, type Tree } from '@nx/devkit';
import { declarativeBaseTemplates, findDeclarativeBase, newDeclarativeBase } from '../../src/declarative-base';
import { registerModelImport, registeredModels, targetMetadataIsNone } from '../../src/model-imports';
import { checkModuleName } from '../../src/model-names';
import { join } from 'node:path';
import { sqlalchemySeries } from '../../src/sqlalchemy-series';
import { nxGenerator, projectInfo, type ProjectInfo } from '../../src/nx-generator';

import { findEnvPy } from './lib/find-env-py';
import { moduleTemplates } from './lib/module-templates';
import { planModel, type Model } from './lib/plan-model';
import { writeModule } from './lib/write-module';
import type { ModuleGeneratorSchema } from './schema';

/**
 * `nx g fastkit:module invoices --project api`: modules/invoices/{__init__,models}.py with the
 * model Invoice (table invoices) on the project's Base, and its import registered in the
 * model block of env.py, so autogenerate sees it. Everything is checked before anything is
 * written; running it again changes nothing.
 */
export async function moduleGenerator(tree: Tree, options: ModuleGeneratorSchema): Promise<GeneratorCallback> {
  const project = await projectInfo(tree, options.project);
  const moduleName = checkModuleName(options.name);
  const envPy = findEnvPy(tree, project);
  const envSource = tree.read(envPy, 'utf-8') ?? '';
  const foundBase = findDeclarativeBase(tree, project.root);
  const base = foundBase ?? newDeclarativeBase(project);
  const sqlalchemy = sqlalchemySeries(options.sqlalchemy, join(tree.root, project.root));
  const model = planModel(moduleName, base, registeredModels(envSource, envPy), envPy);
  const registration = registerModelImport(envSource, model.entry, envPy);

  const written = writeModule(
    tree,
    project,
    model,
    [moduleTemplates(project, model, base, sqlalchemy), ...(foundBase ? [] : [declarativeBaseTemplates(project, sqlalchemy)])],
    envPy,
  );
  if (registration.changed) tree.write(envPy, registration.source);
  if (registration.blockAdded) logger.info(`Added a model block to ${envPy}, after its last top-level import.`);
  if (targetMetadataIsNone(registration.source)) {
    logger.warn(
      `${envPy} sets target_metadata = None, so autogenerate does not see ${model.className}. ` +
        `Point it at the Base: \`from ${base.module} import ${base.name}\` and \`target_metadata = ${base.name}.metadata\`.`,
    );
  }

  if (!options.skipFormat) await formatFiles(tree);
  const nothingChanged = written.length === 0 && !registration.changed;
  return () => {
    if (nothingChanged) logger.info(`Module ${moduleName} is already in place; nothing changed.`);
    else printNextSteps(project, model);
  };
}

function printNextSteps(project: ProjectInfo, model: Model): void {
  logger.info(
    [
      `Next: add columns to ${model.className} in ${project.root}/modules/${model.moduleName}/models.py, then`,
      `      nx run ${project.name}:migrate-make -m "create ${model.moduleName.replace(/_/g, ' ')}"`,
    ].join('\n'),
  );
}

export default nxGenerator(moduleGenerator);
