export interface ModuleGeneratorSchema {
  /** The module's name in snake_case, usually plural: `invoices` gives model `Invoice`, table `invoices`. */
  name: string;
  /** The project the module goes into. */
  project: string;
  /** @default false */
  skipFormat?: boolean;
}
