/**
 * What the Node side knows of shadow databases (python/fastkit_helper/shadow.py makes and drops
 * them): where the shadow server comes from, and the progress lines people see about them.
 */
import type { ShadowEvent } from './helper-protocol';
import type { MigrateOptions } from './options';
import { displayPath } from './output';
import type { Project } from './project';

/** The variable that names the shadow server, and the one the `shadowUrl` option stands for. */
export const SHADOW_URL_VARIABLE = 'FASTKIT_SHADOW_URL';

/**
 * The options with the shadow server given by `shadowUrl` handed to the helper as
 * FASTKIT_SHADOW_URL: through the environment, never an argv, and masked like every URL in it.
 */
export function withShadowUrl<O extends MigrateOptions>(options: O & { shadowUrl?: string }): O {
  if (options.shadowUrl === undefined || options.shadowUrl === '') return options;
  return { ...options, env: { ...options.env, [SHADOW_URL_VARIABLE]: options.shadowUrl } };
}

/** A line on stderr as each shadow database is made or dropped, and for a killed run's leftover swept away. */
export function shadowProgress(project: Project): (event: ShadowEvent) => void {
  return ({ state, dialect, name }) => {
    const shown = dialect === 'sqlite' ? displayPath(name) : name;
    if (state === 'made') project.output.err(`Made shadow database ${shown} (${dialect})`);
    else if (state === 'dropped') project.output.err(`Dropped shadow database ${shown}`);
    else project.output.err(`Dropped shadow database ${shown}, left behind by a run that was killed`);
  };
}
