export interface InitGeneratorSchema {
  /** @default false */
  skipFormat?: boolean;
}
