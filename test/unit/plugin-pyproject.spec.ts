import { hasAlembicTable, PyprojectSyntaxError } from '../../src/pyproject';

describe('hasAlembicTable: which pyproject.toml configures Alembic', () => {
  test.each([
    ['the plain table', '[tool.alembic]\nscript_location = "migrations"\n'],
    ['spaces and quoted keys', '[ tool . "alembic" ]  # Alembic 1.16+\nscript_location = "x"\n'],
    ['only a sub-table', '[tool.alembic.sqlalchemy]\nurl = "sqlite://"\n'],
    ['an array of tables', '[[tool.alembic.post_write_hooks]]\nname = "ruff"\ntype = "exec"\n'],
    ['a dotted key under [tool]', '[tool]\nalembic.script_location = "migrations"\n'],
    ['an inline table under [tool]', '[tool]\nalembic = { script_location = "migrations" }\n'],
    ['a dotted key at the top level', 'tool.alembic.script_location = "migrations"\n'],
    ['after other tables and Windows line ends', '[project]\r\nname = "api"\r\n\r\n[tool.alembic]\r\nscript_location = "m"\r\n'],
  ])('yes: %s', (_, toml) => {
    expect(hasAlembicTable(toml)).toBe(true);
  });

  test.each([
    ['an empty file', ''],
    ['Alembic as a dependency', '[project]\nname = "api"\ndependencies = ["alembic>=1.16", "sqlalchemy"]\n'],
    ['Alembic as a Poetry dependency', '[tool.poetry.dependencies]\npython = "^3.11"\nalembic = "^1.16"\n'],
    ['another tool whose name starts the same', '[tool.alembic-utils]\nx = 1\n[tool.alembicx]\ny = 2\n'],
    ['a commented-out table', '[project]\nname = "api"\n# [tool.alembic]\n# script_location = "m"\n'],
    ['the header inside a multi-line string', 'readme = """\n[tool.alembic]\nscript_location = "m"\n"""\n'],
    ['the header inside a literal multi-line string', "notes = '''\n[tool.alembic]\n'''\n"],
    ["another tool's broken header", '[tool.alembic-utils\nx = 1\n'],
    ['arrays spread over lines', 'matrix = [\n  [1, 2],\n  ["tool", "alembic"],\n]\n'],
  ])('no: %s', (_, toml) => {
    expect(hasAlembicTable(toml)).toBe(false);
  });

  test('a [tool.alembic header TOML would refuse names its line', () => {
    expect(() => hasAlembicTable('[project]\nname = "api"\n\n[tool.alembic\nscript_location = "m"\n')).toThrow(
      new PyprojectSyntaxError('line 4: "[tool.alembic" is not a valid TOML table header', 4),
    );
    expect(() => hasAlembicTable('[[tool.alembic.post_write_hooks]\n')).toThrow(PyprojectSyntaxError);
  });
});
