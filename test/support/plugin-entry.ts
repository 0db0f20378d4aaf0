/** The entry `nx add fastkit` (the init generator) puts in nx.json: every target name spelled out, and checksums off. */
export const PLUGIN_ENTRY = {
  plugin: 'fastkit/plugin',
  options: {
    makeTargetName: 'migrate-make',
    runTargetName: 'migrate-run',
    rollbackTargetName: 'migrate-rollback',
    statusTargetName: 'migrate-status',
    checkTargetName: 'migrate-check',
    sqlTargetName: 'migrate-sql',
    rebaseTargetName: 'migrate-rebase',
    checksums: false,
    verifyTargetName: 'migrate-verify',
  },
};
