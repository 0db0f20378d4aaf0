export interface AlembicSetupGeneratorSchema {
  /** The project to set Alembic up in. */
  project: string;
  /** Overwrite files that exist with other content. @default false */
  force?: boolean;
  /** @default false */
  skipFormat?: boolean;
}
