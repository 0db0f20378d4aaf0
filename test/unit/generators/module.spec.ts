import { logger, type Tree } from '@nx/devkit';
import alembicSetup from '../../../generators/alembic-setup/generator';
import moduleGenerator from '../../../generators/module/generator';
import { BLOCK_BEGIN, BLOCK_END } from '../../../src/model-imports';
import { blockOf, filesOf, pythonCompileError, refusal, ROOT, stockEnvPy, workspaceWithApi } from './tree';

const ENV = `${ROOT}/alembic/env.py`;
const addModule = (tree: Tree, name: string, project = 'api') => moduleGenerator(tree, { name, project });

const read = (tree: Tree, path: string) => tree.read(path, 'utf-8') ?? '';

let warnings: string[];
beforeEach(() => {
  warnings = [];
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  jest.spyOn(logger, 'warn').mockImplementation((message: string) => void warnings.push(message));
});
afterEach(() => jest.restoreAllMocks());

async function setUpApi(): Promise<Tree> {
  const tree = workspaceWithApi();
  await alembicSetup(tree, { project: 'api' });
  return tree;
}

describe('module in a project set up by alembic-setup', () => {
  test('writes modules/invoices/__init__.py and models.py with Invoice on the Base, table invoices', async () => {
    const tree = await setUpApi();
    await addModule(tree, 'invoices');
    expect(read(tree, `${ROOT}/modules/invoices/__init__.py`)).toBe('');
    expect(read(tree, `${ROOT}/modules/__init__.py`)).toBe('');
    const models = read(tree, `${ROOT}/modules/invoices/models.py`);
    expect(models).toContain('from database import Base\n');
    expect(models).toContain('class Invoice(Base):\n    __tablename__ = "invoices"\n');
    expect(models).toContain('id: Mapped[int] = mapped_column(Integer, primary_key=True)');
    expect(models).toContain('created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())');
    expect(models).toContain(
      'updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())',
    );
    expect(pythonCompileError(models)).toBe('');
  });

  test('registers the model in the env.py block, which stays sorted, and env.py compiles', async () => {
    const tree = await setUpApi();
    await addModule(tree, 'order_items');
    await addModule(tree, 'invoices');
    await addModule(tree, 'categories');
    const env = read(tree, ENV);
    expect(blockOf(env)).toEqual([
      'from modules.categories.models import Category  # noqa: F401',
      'from modules.invoices.models import Invoice  # noqa: F401',
      'from modules.order_items.models import OrderItem  # noqa: F401',
    ]);
    expect(read(tree, `${ROOT}/modules/order_items/models.py`)).toContain(
      'class OrderItem(Base):\n    __tablename__ = "order_items"',
    );
    expect(pythonCompileError(env)).toBe('');
    expect(warnings).toEqual([]);
  });

  test('running it twice changes nothing the second time', async () => {
    const tree = await setUpApi();
    await addModule(tree, 'invoices');
    const before = filesOf(tree);
    await addModule(tree, 'invoices');
    expect(filesOf(tree)).toEqual(before);
  });

  test('env.py from alembic-setup after the modules equals env.py grown by the module generator', async () => {
    const grown = await setUpApi();
    await addModule(grown, 'clients');
    await addModule(grown, 'invoices');
    const fresh = workspaceWithApi();
    await alembicSetup(fresh, { project: 'api' });
    await addModule(fresh, 'invoices');
    await addModule(fresh, 'clients');
    fresh.delete(ENV);
    await alembicSetup(fresh, { project: 'api' });
    expect(read(fresh, ENV)).toBe(read(grown, ENV));
  });

  test('uses a Base of another name from where it is defined', async () => {
    const tree = workspaceWithApi();
    tree.write(`${ROOT}/app/db.py`, 'from sqlalchemy.orm import DeclarativeBase\n\nclass Model(DeclarativeBase):\n    pass\n');
    await alembicSetup(tree, { project: 'api' });
    await addModule(tree, 'invoices');
    const models = read(tree, `${ROOT}/modules/invoices/models.py`);
    expect(models).toContain('from app.db import Model\n');
    expect(models).toContain('class Invoice(Model):');
    expect(tree.exists(`${ROOT}/database.py`)).toBe(false);
  });

  test('keeps an existing modules/__init__.py as it is', async () => {
    const tree = await setUpApi();
    tree.write(`${ROOT}/modules/__init__.py`, '"""Feature modules."""\n');
    await addModule(tree, 'invoices');
    expect(read(tree, `${ROOT}/modules/__init__.py`)).toBe('"""Feature modules."""\n');
  });
});

describe('module on the stock env.py of `alembic init`', () => {
  function stockProject(): Tree {
    const tree = workspaceWithApi();
    tree.write(`${ROOT}/alembic.ini`, '[alembic]\nscript_location = %(here)s/alembic\nprepend_sys_path = .\n');
    tree.write(ENV, stockEnvPy());
    return tree;
  }

  test('adds the block after the last top-level import, never in the comment that mentions target_metadata', async () => {
    const tree = stockProject();
    tree.write(`${ROOT}/app/models.py`, 'from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n');
    await addModule(tree, 'invoices');
    const env = read(tree, ENV);
    const lines = env.split('\n');
    const at = lines.indexOf('from modules.invoices.models import Invoice  # noqa: F401');
    expect(at).toBeGreaterThan(lines.indexOf('from alembic import context'));
    expect(at).toBeLessThan(lines.indexOf('# add your model\'s MetaData object here'));
    expect(lines).toContain('# target_metadata = mymodel.Base.metadata');
    expect(pythonCompileError(env)).toBe('');
    expect(read(tree, `${ROOT}/modules/invoices/models.py`)).toContain('from app.models import Base\n');
  });

  test('says that target_metadata = None hides the model, and how to fix it', async () => {
    const tree = stockProject();
    tree.write(`${ROOT}/app/models.py`, 'from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n');
    await addModule(tree, 'invoices');
    expect(warnings).toEqual([
      `${ENV} sets target_metadata = None, so autogenerate does not see Invoice. ` +
        'Point it at the Base: `from app.models import Base` and `target_metadata = Base.metadata`.',
    ]);
  });

  test('where the project has no Base, writes database.py with one and builds the model on it', async () => {
    const tree = stockProject();
    await addModule(tree, 'invoices');
    expect(read(tree, `${ROOT}/database.py`)).toContain('class Base(DeclarativeBase):');
    expect(read(tree, `${ROOT}/modules/invoices/models.py`)).toContain('from database import Base\n');
    expect(warnings[0]).toContain('`from database import Base` and `target_metadata = Base.metadata`');
  });

  test('a second run changes nothing, and a second module joins the block', async () => {
    const tree = stockProject();
    await addModule(tree, 'invoices');
    const before = filesOf(tree);
    await addModule(tree, 'invoices');
    expect(filesOf(tree)).toEqual(before);
    await addModule(tree, 'clients');
    const env = read(tree, ENV);
    expect(blockOf(env)).toEqual([
      'from modules.clients.models import Client  # noqa: F401',
      'from modules.invoices.models import Invoice  # noqa: F401',
    ]);
    expect(env.split('\n').filter((line) => line === BLOCK_BEGIN)).toHaveLength(1);
    expect(pythonCompileError(env)).toBe('');
  });
});

describe('module on a hand-written env.py', () => {
  const HAND_WRITTEN = [
    '"""Migrations of the shop. Models are imported before target_metadata is set."""',
    '# target_metadata: see below',
    'from logging.config import fileConfig',
    '',
    'from alembic import context',
    'from shop.db import (',
    '    Base,  # the declarative base',
    '    engine,',
    ')',
    '',
    'fileConfig(context.config.config_file_name)',
    'target_metadata = Base.metadata',
    '',
    '',
    'def run_migrations_online():',
    '    with engine.connect() as connection:',
    '        context.configure(connection=connection, target_metadata=target_metadata)',
    '        with context.begin_transaction():',
    '            context.run_migrations()',
    '',
    '',
    'run_migrations_online()',
    '',
  ].join('\n');

  test('finds env.py where alembic.ini says, adds the block after the import in parentheses, and it compiles', async () => {
    const tree = workspaceWithApi();
    tree.write(`${ROOT}/alembic.ini`, '[alembic]\nscript_location = migrations\n\n[loggers]\nkeys = root\n');
    tree.write(`${ROOT}/migrations/env.py`, HAND_WRITTEN);
    tree.write(`${ROOT}/shop/db.py`, 'from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n\nengine = None\n');
    await addModule(tree, 'invoices');
    const env = read(tree, `${ROOT}/migrations/env.py`);
    const lines = env.split('\n');
    expect(lines.slice(8, 15)).toEqual([
      ')',
      '',
      '# Importing a model registers its table on the metadata that autogenerate compares.',
      '# fastkit keeps this block sorted; add models to it with `nx g fastkit:module`.',
      BLOCK_BEGIN,
      'from modules.invoices.models import Invoice  # noqa: F401',
      BLOCK_END,
    ]);
    expect(lines[15]).toBe('');
    expect(lines[16]).toBe('fileConfig(context.config.config_file_name)');
    expect(pythonCompileError(env)).toBe('');
    expect(warnings).toEqual([]);
    expect(read(tree, `${ROOT}/modules/invoices/models.py`)).toContain('from shop.db import Base\n');
  });
});

describe('module refuses bad names with one line, and writes nothing', () => {
  let tree: Tree;
  beforeEach(async () => {
    tree = await setUpApi();
    await addModule(tree, 'invoices');
  });

  test.each([
    ['', 'The module needs a name. Pass one in snake_case, e.g. invoices or order_items'],
    ['../x', 'Module name "../x" is a path. '],
    ['a/b', 'Module name "a/b" is a path. '],
    ['Invoices', 'Module name "Invoices" is not a snake_case Python identifier. '],
    ['order-items', 'Module name "order-items" is not a snake_case Python identifier. '],
    ['2fa', 'Module name "2fa" is not a snake_case Python identifier. '],
    ['class', 'Module name "class" is a Python keyword. Choose another name'],
    ['none', 'Module "none" would define class None, a Python keyword. Choose another name'],
    ['bases', 'Module "bases" would define class Base, a name its models.py imports. Choose another name'],
    ['integers', 'Module "integers" would define class Integer, a name its models.py imports. Choose another name'],
    ['invoice', `Model Invoice is already registered in ${ENV}, from modules.invoices.models. Choose another module name`],
  ])('%j', async (name, expected) => {
    const before = filesOf(tree);
    const message = await refusal(addModule(tree, name));
    expect(message.startsWith(expected)).toBe(true);
    expect(message).not.toContain('\n');
    expect(filesOf(tree)).toEqual(before);
  });

  test('a module that already exists with other content', async () => {
    tree.write(`${ROOT}/modules/clients/models.py`, 'from database import Base\n\nclass Client(Base):\n    __tablename__ = "people"\n');
    const before = filesOf(tree);
    const message = await refusal(addModule(tree, 'clients'));
    expect(message).toBe(
      `Module "clients" already exists with other content (${ROOT}/modules/clients/models.py). ` +
        `Nothing was written. Choose another name, or register its model in ${ENV} by hand`,
    );
    expect(filesOf(tree)).toEqual(before);
  });

  test('a module that exists as a plain modules/<name>.py file', async () => {
    tree.write(`${ROOT}/modules/clients.py`, 'x = 1\n');
    const before = filesOf(tree);
    expect(await refusal(addModule(tree, 'clients'))).toMatch(/^Module "clients" already exists as apps\/api\/modules\/clients\.py\. /);
    expect(filesOf(tree)).toEqual(before);
  });

  test('a project without env.py is told to run alembic-setup first', async () => {
    const bare = workspaceWithApi();
    const before = filesOf(bare);
    expect(await refusal(addModule(bare, 'invoices'))).toBe(
      `${ENV} not found, so there is no env.py to register the model in. Set Alembic up first: nx g fastkit:alembic-setup --project api`,
    );
    expect(filesOf(bare)).toEqual(before);
  });

  test('an env.py with a broken block is refused before anything is written', async () => {
    tree.write(ENV, read(tree, ENV).replace(`${BLOCK_END}\n`, ''));
    const before = filesOf(tree);
    expect(await refusal(addModule(tree, 'clients'))).toMatch(/^apps\/api\/alembic\/env\.py has a broken model block/);
    expect(filesOf(tree)).toEqual(before);
  });

  test('an unknown project', async () => {
    expect(await refusal(addModule(tree, 'clients', 'shop'))).toBe(
      'No project named "shop" in this workspace. `nx show projects` lists the names',
    );
  });
});
