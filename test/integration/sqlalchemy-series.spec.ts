/**
 * Which SQLAlchemy the generators write model code for, asked of the project's real Python:
 * the answer read from the installed metadata must be the one `import sqlalchemy` gives, and a
 * copy Python would import instead of the installed one (PYTHONPATH) must win, as the import does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seriesOf, sqlalchemySeries } from '../../src/sqlalchemy-series';
import { exampleProject, python, tempDir, VENV } from '../support/workspace';

describe("the generators' SQLAlchemy series, asked of the project's Python", () => {
  const project = exampleProject();
  const imported = python('import sqlalchemy; print(sqlalchemy.__version__)');

  test('is the series of the SQLAlchemy `import sqlalchemy` loads in the venv', () => {
    expect(sqlalchemySeries(undefined, project, { ...process.env, VIRTUAL_ENV: VENV })).toBe(seriesOf(imported));
  });

  test('a copy on PYTHONPATH, without metadata, is the one Python imports: its version counts', () => {
    const other = seriesOf(imported) === '2' ? '1.4.99' : '2.1.99';
    const folder = join(tempDir('fastkit-series-'), 'sqlalchemy');
    mkdirSync(folder);
    writeFileSync(join(folder, '__init__.py'), `__version__ = ${JSON.stringify(other)}\n`);
    const env = { ...process.env, VIRTUAL_ENV: VENV, PYTHONPATH: join(folder, '..') };
    expect(python('import sqlalchemy; print(sqlalchemy.__version__)', { env })).toBe(other);
    expect(sqlalchemySeries(undefined, project, env)).toBe(seriesOf(other));
  });
});
