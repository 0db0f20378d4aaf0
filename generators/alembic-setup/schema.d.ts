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
  /** @default false */
  skipFormat?: boolean;
}
