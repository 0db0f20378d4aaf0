/**
 * Reading what a Python file imports and how it edits sys.path, from its text alone: the forms
 * env.py files and model modules use, and the text that only looks like them.
 */
import { readModuleSteps, type ModuleStep } from '../../src/python-imports';

const imports = (source: string) =>
  readModuleSteps(source)
    .filter((step): step is Extract<ModuleStep, { kind: 'import' }> => step.kind === 'import')
    .map(({ module, level, names }) => ({ module, level, names }));
const edits = (source: string) =>
  readModuleSteps(source)
    .filter((step): step is Extract<ModuleStep, { kind: 'sys.path' }> => step.kind === 'sys.path')
    .map(({ position, paths }) => ({ position, paths }));

describe('the imports of a Python file', () => {
  test('import a.b, import a as b, c; from a.b import (c as d, e); from . import x; from ..pkg.mod import *', () => {
    expect(
      imports(
        'import db_models.models\nimport os.path as osp, sys\nfrom db_models.models import (\n    Customer as C,\n    Order,\n)\nfrom . import base\nfrom ..pkg.mod import *\nfrom __future__ import annotations\n',
      ),
    ).toEqual([
      { module: 'db_models.models', level: 0, names: [] },
      { module: 'os.path', level: 0, names: [] },
      { module: 'sys', level: 0, names: [] },
      { module: 'db_models.models', level: 0, names: ['Customer', 'Order'] },
      { module: '', level: 1, names: ['base'] },
      { module: 'pkg.mod', level: 2, names: [] },
    ]);
  });

  test('imports in functions, try/except, if, with and one-line compound statements; two on one line with ";"', () => {
    expect(
      imports(
        'def url():\n    from fastkit_core.config import ConfigManager\ntry: import audit_models\nexcept ImportError: pass\nif TYPE_CHECKING:\n    import typing_models\nimport a; import b\nreturn_value = 1\n',
      ).map((step) => step.module),
    ).toEqual(['fastkit_core.config', 'audit_models', 'typing_models', 'a', 'b']);
  });

  test('no import is read from comments, strings, docstrings or names that contain "import"', () => {
    expect(
      imports('"""\nimport hidden\n"""\n# import commented\ntext = "from x import y"\nreimport = 1\nimport_data()\nprint(f"import {x}")\n'),
    ).toEqual([]);
  });

  test('importlib.import_module and __import__ with a literal name; not with a computed one', () => {
    expect(imports('import importlib\nimportlib.import_module("tenant_models")\n__import__("audit")\nimportlib.import_module(name)\n')).toEqual([
      { module: 'importlib', level: 0, names: [] },
      { module: 'tenant_models', level: 0, names: [] },
      { module: 'audit', level: 0, names: [] },
    ]);
  });
});

describe('the sys.path edits of a Python file', () => {
  test('the pathlib forms: parents[N], parent chains, "/" joins, resolve(), str(), through a variable', () => {
    expect(
      edits(
        [
          'import sys',
          'from pathlib import Path',
          'sys.path.insert(0, str(Path(__file__).resolve().parents[2]))',
          'ROOT = Path(__file__).parent.parent',
          'sys.path.append(str(ROOT / "libs" / "models"))',
          'sys.path.insert(0, (ROOT / "src").as_posix())',
          'sys.path.extend([str(ROOT.joinpath("a", "b"))])',
        ].join('\n'),
      ),
    ).toEqual([
      { position: 'start', paths: [{ base: 'file', path: '../../..' }] },
      { position: 'end', paths: [{ base: 'file', path: '../../libs/models' }] },
      { position: 'start', paths: [{ base: 'file', path: '../../src' }] },
      { position: 'end', paths: [{ base: 'file', path: '../../a/b' }] },
    ]);
  });

  test('the os.path forms: join, dirname, abspath, realpath, os.pardir, aliases, string concatenation', () => {
    expect(
      edits(
        [
          'import os, sys',
          'import os.path as osp',
          'from os.path import dirname, join',
          'HERE = os.path.dirname(os.path.abspath(__file__))',
          'sys.path.append(os.path.join(HERE, "..", "models"))',
          'sys.path.insert(0, osp.realpath(join(dirname(__file__), os.pardir)))',
          'sys.path.insert(0, os.path.dirname(__file__) + "/../lib")',
          'sys.path.insert(0, os.getcwd())',
          'sys.path.append("src")',
          'sys.path.append("/opt/shared")',
        ].join('\n'),
      ),
    ).toEqual([
      { position: 'end', paths: [{ base: 'file', path: '../../models' }] },
      { position: 'start', paths: [{ base: 'file', path: '../..' }] },
      { position: 'start', paths: [{ base: 'file', path: '../../lib' }] },
      { position: 'start', paths: [{ base: 'cwd', path: '' }] },
      { position: 'end', paths: [{ base: 'relative', path: 'src' }] },
      { position: 'end', paths: [{ base: 'absolute', path: '/opt/shared' }] },
    ]);
  });

  test('sys.path[:0] = [...], sys.path[0:0], sys.path += [...], sys.path = [...] + sys.path, from sys import path', () => {
    expect(
      edits(
        [
          'import sys',
          'from sys import path as search_path',
          'sys.path[:0] = ["a"]',
          'sys.path[0:0] = ["b", "c"]',
          'sys.path += ["d"]',
          'sys.path = ["e"] + sys.path',
          'search_path.insert(0, "f")',
        ].join('\n'),
      ).map(({ position, paths }) => [position, paths.map((path) => path.path).join(',')]),
    ).toEqual([
      ['start', 'a'],
      ['start', 'b,c'],
      ['end', 'd'],
      ['start', 'e'],
      ['start', 'f'],
    ]);
  });

  test('what cannot be evaluated is left out: a computed path, an environment variable, a reassigned variable, an f-string', () => {
    expect(
      edits(
        [
          'import os, sys',
          'from pathlib import Path',
          'sys.path.insert(0, os.environ["MODELS"])',
          'ROOT = Path(__file__).parent',
          'ROOT = compute()',
          'sys.path.insert(0, str(ROOT))',
          'sys.path.append(f"{base}/lib")',
          'for p in paths: sys.path.insert(0, p)',
        ].join('\n'),
      ),
    ).toEqual([]);
  });
});
