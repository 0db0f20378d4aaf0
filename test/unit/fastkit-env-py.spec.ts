import { addProjectConfiguration } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { alembicSetupGenerator } from '../../generators/alembic-setup/generator';
import { moduleGenerator } from '../../generators/module/generator';
import { envPyMarker, readFastkitEnvPy } from '../../src/fastkit-env-py';
import { stockEnvPy } from './generators/tree';

/** The env.py alembic-setup writes for a project, after `modules` were added. */
async function generatedEnvPy(project: string, root: string, options: { base?: string; modules?: string[] } = {}) {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  addProjectConfiguration(tree, project, { root });
  if (options.base) tree.write(`${root}/app/db.py`, options.base);
  await alembicSetupGenerator(tree, { project });
  for (const name of options.modules ?? []) await moduleGenerator(tree, { name, project });
  return tree.read(`${root}/alembic/env.py`, 'utf-8')!;
}

describe('recognising the env.py fastkit wrote (the fast path relies on it)', () => {
  test('any project name, Base and set of models: recognised, with its embedded SQLite file', async () => {
    expect(readFastkitEnvPy(await generatedEnvPy('api', 'apps/api'))).toEqual({ version: 2, databaseFile: 'api.db', versionTable: 'alembic_version' });
    expect(readFastkitEnvPy(await generatedEnvPy('billing', 'services/billing', { modules: ['invoices', 'order_items'] }))).toEqual({
      version: 2,
      databaseFile: 'billing.db',
      versionTable: 'alembic_version',
    });
    const withBase = await generatedEnvPy('shop', 'apps/shop', {
      base: 'from sqlalchemy.orm import DeclarativeBase\n\n\nclass Model(DeclarativeBase):\n    pass\n',
      modules: ['carts'],
    });
    expect(withBase).toContain('from app.db import Model');
    expect(readFastkitEnvPy(withBase)).toEqual({ version: 2, databaseFile: 'shop.db', versionTable: 'alembic_version' });
  });

  test('any change outside the parts generators own, or code in the model block, is not recognised', async () => {
    const envPy = await generatedEnvPy('api', 'apps/api', { modules: ['invoices'] });
    const changes = [
      envPy.replace('compare_type=True', 'compare_type=False'),
      envPy.replace('VERSION_TABLE = "alembic_version"', 'VERSION_TABLE = "versions"'),
      envPy.replace('url = os.environ.get("DATABASE_URL")', 'url = os.environ.get("DB_URL")'),
      envPy + '\nprint("extra")\n',
      envPy.replace('# fastkit:models end', 'import os; os.environ["DATABASE_URL"] = "sqlite://"\n# fastkit:models end'),
      stockEnvPy(),
    ];
    for (const changed of changes) {
      expect(changed).not.toBe(envPy);
      expect(readFastkitEnvPy(changed)).toBeUndefined();
    }
  });

  test('recognised by its own marker line, not by the current template: an env.py another fastkit version wrote still is', async () => {
    const envPy = await generatedEnvPy('api', 'apps/api');
    const marker = /^# fastkit:env-py 2 [0-9a-f]{16}$/m;
    expect(envPy).toMatch(marker);
    const olderTemplate = envPy.replace('compare_type=True,\n', '').replace(marker, '# fastkit:env-py 2 0000000000000000');
    const sealed = olderTemplate.replace(marker, envPyMarker(olderTemplate));
    expect(readFastkitEnvPy(sealed)).toEqual({ version: 2, databaseFile: 'api.db', versionTable: 'alembic_version' });
    expect(readFastkitEnvPy(sealed.replace(/\n/g, '\r\n'))).toEqual({ version: 2, databaseFile: 'api.db', versionTable: 'alembic_version' });
    expect(readFastkitEnvPy(sealed.replace('# fastkit:env-py 2 ', '# fastkit:env-py 9 '))).toBeUndefined();
    expect(readFastkitEnvPy(envPy.replace(marker, ''))).toBeUndefined();
  });
});
