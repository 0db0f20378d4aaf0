import { logger, readNxJson, updateNxJson, writeJson, type Tree } from '@nx/devkit';
import { normalizeOptions, type FastkitPluginOptions } from '../../../src/plugin';

export const PLUGIN = 'fastkit/plugin';

/** What init writes in nx.json: every target name, spelled out so users see what to rename. */
export const DEFAULT_PLUGIN_OPTIONS: FastkitPluginOptions = normalizeOptions(undefined);

/**
 * Adds `{ plugin: "fastkit/plugin", options }` to nx.json's plugins, once: an entry that is
 * already there (a string or an object, whatever its options) is left as the user has it.
 * Respects a workspace that opted out of inferred targets.
 */
export function registerPlugin(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const registered = (nxJson.plugins ?? []).some((entry) =>
    typeof entry === 'string' ? entry === PLUGIN : entry.plugin === PLUGIN,
  );
  if (registered) {
    logger.info(`${PLUGIN} is already in nx.json; nothing changed.`);
    return;
  }
  if (nxJson.useInferencePlugins === false || process.env.NX_ADD_PLUGINS === 'false') {
    logger.info(
      `Not adding ${PLUGIN} to nx.json: this workspace does not use inferred targets. ` +
        'Add them to a project.json instead, e.g. "migrate-run": { "executor": "fastkit:migrate-run" }.',
    );
    return;
  }
  nxJson.plugins = [...(nxJson.plugins ?? []), { plugin: PLUGIN, options: { ...DEFAULT_PLUGIN_OPTIONS } }];
  if (tree.exists('nx.json')) updateNxJson(tree, nxJson);
  else writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json', ...nxJson });
}
