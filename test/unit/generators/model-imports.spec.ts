import {
  BLOCK_BEGIN,
  BLOCK_END,
  registerModelImport,
  registeredModels,
  targetMetadataIsNone,
} from '../../../src/model-imports';
import { describeError } from '../../../src/errors';
import { blockOf, pythonCompileError, stockEnvPy } from './tree';

const invoices = { module: 'modules.invoices.models', names: ['Invoice'] };
const clients = { module: 'modules.clients.models', names: ['Client'] };
const INVOICE_IMPORT = 'from modules.invoices.models import Invoice  # noqa: F401';
const CLIENT_IMPORT = 'from modules.clients.models import Client  # noqa: F401';

/** The lines between the markers. */
const HAND_WRITTEN = `"""Migrations for the shop.

Models are imported below, before target_metadata is set, so that
from app.models import everything  -- this line is prose, not an import
works. See target_metadata = Base.metadata further down.
"""
# target_metadata is configured after the imports
import os  # the environment
from logging.config import fileConfig

from alembic import context
from sqlalchemy import (
    engine_from_config,
    pool,  # pooling is disabled below
)

if os.environ.get("TYPE_CHECKING"):
    import typing  # an indented import is not a top-level one

from app.db import Base  # target_metadata comes from here

NOTE = """
import this_is_a_string
# fastkit:models begin
"""

config = context.config
fileConfig(config.config_file_name)
target_metadata = Base.metadata


def run_migrations_online():
    from app import late_import  # inside a function
    connectable = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
`;

describe('registerModelImport on the stock env.py of `alembic init`', () => {
  const stock = stockEnvPy();

  test('the stock env.py mentions target_metadata in a comment first (the trap this avoids)', () => {
    const first = stock.split('\n').find((line) => line.includes('target_metadata'));
    expect(first?.trim().startsWith('#')).toBe(true);
  });

  test('adds the block after the last top-level import, as live code, and the file still compiles', () => {
    const { source, changed, blockAdded } = registerModelImport(stock, invoices);
    expect(changed).toBe(true);
    expect(blockAdded).toBe(true);
    const lines = source.split('\n');
    const importLine = lines.indexOf(INVOICE_IMPORT);
    expect(importLine).toBeGreaterThan(lines.indexOf('from alembic import context'));
    expect(lines[importLine - 1]).toBe(BLOCK_BEGIN);
    expect(lines[importLine + 1]).toBe(BLOCK_END);
    expect(importLine).toBeLessThan(lines.findIndex((line) => line.includes('target_metadata')));
    expect(source).not.toMatch(/#\s*from modules/);
    expect(pythonCompileError(source)).toBe('');
    // nothing else changed: without the added lines it is the stock file again
    expect(source.replace(/\n# Importing a model[^]*?# fastkit:models end\n/, '')).toBe(stock);
  });

  test('sees the stock target_metadata = None, and not a comment that mentions it', () => {
    expect(targetMetadataIsNone(stock)).toBe(true);
    expect(targetMetadataIsNone('# target_metadata = None\ntarget_metadata = Base.metadata\n')).toBe(false);
    expect(targetMetadataIsNone('"""\ntarget_metadata = None\n"""\n')).toBe(false);
  });

  test('a second and a third model go into the same block, sorted; registering again changes nothing', () => {
    const once = registerModelImport(stock, invoices).source;
    const twice = registerModelImport(once, clients);
    expect(twice.blockAdded).toBe(false);
    expect(blockOf(twice.source)).toEqual([CLIENT_IMPORT, INVOICE_IMPORT]);
    const again = registerModelImport(twice.source, invoices);
    expect(again.changed).toBe(false);
    expect(again.source).toBe(twice.source);
    expect(pythonCompileError(twice.source)).toBe('');
  });
});

describe('registerModelImport on a hand-written env.py', () => {
  test('goes after the multi-line import in parentheses, not into the docstring, a comment or a string', () => {
    const { source, blockAdded } = registerModelImport(HAND_WRITTEN, invoices);
    expect(blockAdded).toBe(true);
    const lines = source.split('\n');
    const begin = lines.indexOf(BLOCK_BEGIN);
    // the last top-level import is `from app.db import Base  # ...`, after the indented one
    expect(lines[begin - 4]).toBe('from app.db import Base  # target_metadata comes from here');
    expect(lines[begin + 1]).toBe(INVOICE_IMPORT);
    // the marker text inside the NOTE string is left alone, and is not taken for a block
    expect(lines.filter((line) => line === BLOCK_BEGIN)).toHaveLength(2);
    expect(source.slice(source.indexOf('NOTE = """'))).toBe(HAND_WRITTEN.slice(HAND_WRITTEN.indexOf('NOTE = """')));
    expect(pythonCompileError(source)).toBe('');
    expect(registerModelImport(source, invoices).changed).toBe(false);
  });

  test('where the last top-level import spans lines, the block follows its closing parenthesis', () => {
    const env = 'import os\nfrom sqlalchemy import (\n    pool,\n    text,\n)\nconfig = 1\n';
    const { source } = registerModelImport(env, invoices);
    expect(source.split('\n').slice(0, 6)).toEqual(['import os', 'from sqlalchemy import (', '    pool,', '    text,', ')', '']);
    expect(pythonCompileError(source)).toBe('');
  });

  test('a backslash-continued import is kept whole', () => {
    const env = 'from sqlalchemy import pool, \\\n    text\nx = 1\n';
    const { source } = registerModelImport(env, invoices);
    expect(source.startsWith('from sqlalchemy import pool, \\\n    text\n\n')).toBe(true);
    expect(pythonCompileError(source)).toBe('');
  });

  test('an env.py without imports gets the block after its docstring', () => {
    const env = '"""Nothing imported here."""\nx = 1\n';
    const { source } = registerModelImport(env, invoices);
    expect(source.split('\n')[0]).toBe('"""Nothing imported here."""');
    expect(source.indexOf(INVOICE_IMPORT)).toBeLessThan(source.indexOf('x = 1'));
    expect(pythonCompileError(source)).toBe('');
  });

  test('Windows line ends stay Windows line ends', () => {
    const env = 'import os\r\nfrom alembic import context\r\n\r\nconfig = context.config\r\n';
    const { source } = registerModelImport(env, invoices);
    expect(source.replace(/\r\n/g, '')).not.toContain('\n');
    expect(source).toContain(`${BLOCK_BEGIN}\r\n${INVOICE_IMPORT}\r\n${BLOCK_END}\r\n`);
  });
});

describe('registerModelImport on an existing block', () => {
  const env = (inside: string[]) =>
    ['from database import Base', '', BLOCK_BEGIN, ...inside, BLOCK_END, '', 'target_metadata = Base.metadata', ''].join('\n');

  test('keeps it sorted by module and leaves everything outside the block as it was', () => {
    const { source } = registerModelImport(
      env(['from modules.orders.models import Order  # noqa: F401']),
      clients,
    );
    expect(blockOf(source)).toEqual([CLIENT_IMPORT, 'from modules.orders.models import Order  # noqa: F401']);
    expect(source.startsWith('from database import Base\n\n')).toBe(true);
    expect(source.endsWith(`${BLOCK_END}\n\ntarget_metadata = Base.metadata\n`)).toBe(true);
  });

  test('adds a class to a module that is already imported, and keeps a hand-made multi-line entry otherwise', () => {
    const start = env([
      'from modules.billing.models import (  # noqa: F401',
      '    Invoice,',
      '    Payment,',
      ')',
      'from modules.clients.models import Client  # noqa: F401',
    ]);
    expect(registerModelImport(start, { module: 'modules.billing.models', names: ['Invoice'] }).changed).toBe(false);
    const { source } = registerModelImport(start, { module: 'modules.clients.models', names: ['Contact'] });
    expect(blockOf(source)).toEqual([
      'from modules.billing.models import (  # noqa: F401',
      '    Invoice,',
      '    Payment,',
      ')',
      'from modules.clients.models import Client, Contact  # noqa: F401',
    ]);
    expect(pythonCompileError(source.replace('from database import Base', ''))).toBe('');
  });

  test('reads the registered models, aliases included', () => {
    const source = env(['from modules.billing.models import Invoice as Bill, Payment  # noqa: F401', 'import modules.legacy.models']);
    expect(registeredModels(source)).toEqual([
      { module: 'modules.billing.models', names: ['Bill', 'Payment'] },
      { module: 'modules.legacy.models', names: [] },
    ]);
  });

  test.each([
    ['a begin without an end', [BLOCK_BEGIN, 'x = 1'].join('\n')],
    ['an end before the begin', [BLOCK_END, BLOCK_BEGIN].join('\n')],
    ['two blocks', [BLOCK_BEGIN, BLOCK_END, BLOCK_BEGIN, BLOCK_END].join('\n')],
  ])('refuses %s with one line naming the file and the fix', (_case, source) => {
    let message = '';
    try {
      registerModelImport(source, invoices, 'apps/api/alembic/env.py');
    } catch (error) {
      message = describeError(error);
    }
    expect(message).toMatch(/^apps\/api\/alembic\/env\.py has a broken model block .*Keep exactly one "# fastkit:models begin" line/);
    expect(message).not.toContain('\n');
  });
});
