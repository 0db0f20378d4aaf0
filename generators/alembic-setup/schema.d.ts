export interface AlembicSetupGeneratorSchema {
  /** The project to set Alembic up in. */
  project: string;
  /**
   * The table Alembic keeps the applied revision in; one per project where projects share a
   * database. @default "alembic_version"
   */
  versionTable?: string;
  /** Overwrite files that exist with other content. @default false */
  force?: boolean;
  /** Which SQLAlchemy the model code is written for: 1.4 (declarative_base(), Column) or 2 (DeclarativeBase, Mapped, mapped_column). Default: the one the project's Python imports (found as the migrate commands find it), 2 when there is none yet. */
  sqlalchemy?: '1.4' | '2' | 1.4 | 2;
  /** @default false */
  skipFormat?: boolean;
}
