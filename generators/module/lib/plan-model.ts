import { UsageError } from '../../../src/errors';
import type { DeclarativeBase } from '../../../src/declarative-base';
import type { ModelImport } from '../../../src/model-imports';
import { modelClassName } from '../../../src/model-names';
import { PYTHON_KEYWORDS } from '../../../src/python-source';

export interface Model {
  /** The module's name, which is also its folder and its table: `invoices`. */
  moduleName: string;
  /** The model class: `Invoice`. */
  className: string;
  tableName: string;
  /** Its line in env.py's model block. */
  entry: ModelImport;
}

/** Names the generated models.py imports, which the model class must not shadow. */
const MODELS_PY_NAMES = ['DateTime', 'Integer', 'Mapped'];

/** The model of module `moduleName`; refuses a class name that would clash with another name. */
export function planModel(moduleName: string, base: DeclarativeBase, registered: ModelImport[], envPy: string): Model {
  const className = modelClassName(moduleName);
  if (PYTHON_KEYWORDS.has(className)) {
    throw new UsageError(`Module "${moduleName}" would define class ${className}, a Python keyword`, 'Choose another name');
  }
  if ([...MODELS_PY_NAMES, base.name].includes(className)) {
    throw new UsageError(
      `Module "${moduleName}" would define class ${className}, a name its models.py imports`,
      'Choose another name',
    );
  }
  const module = `modules.${moduleName}.models`;
  const other = registered.find((entry) => entry.module !== module && entry.names.includes(className));
  if (other) {
    throw new UsageError(
      `Model ${className} is already registered in ${envPy}, from ${other.module}`,
      'Choose another module name',
    );
  }
  return { moduleName, className, tableName: moduleName, entry: { module, names: [className] } };
}
