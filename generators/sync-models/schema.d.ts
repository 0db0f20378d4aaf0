/** The sync generator takes no options: Nx runs it with none. */
export interface SyncModelsGeneratorSchema {}
