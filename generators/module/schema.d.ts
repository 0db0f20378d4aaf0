export interface ModuleGeneratorSchema {
  /** The module's name in snake_case, usually plural: `invoices` gives model `Invoice`, table `invoices`. */
  name: string;
  /** The project the module goes into. */
  project: string;
  /** Which SQLAlchemy the model code is written for: 1.4 (declarative_base(), Column) or 2 (DeclarativeBase, Mapped, mapped_column). Default: the one the project's Python imports (found as the migrate commands find it), 2 when there is none yet. */
  sqlalchemy?: '1.4' | '2' | 1.4 | 2;
  /** @default false */
  skipFormat?: boolean;
}
