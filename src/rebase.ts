/**
 * `fastkit migrate rebase`: the second head a git merge leaves (two branches each added a
 * revision on the same parent) put back into one line. Git says which revisions this branch
 * added (src/git.ts); Alembic, through the helper, says what the two heads are, refuses while one
 * of this branch's revisions is applied in the database, rewrites the first one's down_revision
 * and reads the result back (python/fastkit_helper/actions/rebase.py). With `merge`, an Alembic
 * merge revision instead. Every refusal comes before a file is written.
 */
import { realpathSync } from 'node:fs';
import { relative, sep } from 'node:path';
import type { ActionOptions } from './actions';
import { callAlembic } from './alembic';
import { FastkitError, UsageError } from './errors';
import { askGit } from './git';
import type { ResultEvent } from './helper-protocol';
import type { MigrateOptions } from './options';
import { displayPath } from './output';
import { withProject, type Project } from './project';

export interface RebaseOptions extends MigrateOptions, ActionOptions<'rebase'> {}

export interface RebaseResult {
  /** `rebased`: a revision now revises the other head; `merged`: a merge revision was written; `nothing`: one head already. */
  outcome: 'rebased' | 'merged' | 'nothing';
  /** The revision re-parented, or the merge revision written. */
  revision?: string;
  path?: string;
  /** The one head the history has now. */
  head?: string;
}

type Branch = ResultEvent<'branches'>['branches'][number];

/** Puts this git branch's revisions after the other head (or, with `merge`, writes a merge revision). */
export function rebase(options: RebaseOptions): Promise<RebaseResult> {
  return withProject(options, async (project) => {
    if (options.merge) return writeMergeRevision(project);
    const { out } = project.output;
    const { heads, branches } = await callAlembic<ResultEvent<'branches'>>(project, 'branches');
    if (heads.length < 2) {
      out(heads.length === 0 ? 'No revisions yet: nothing to rebase' : `Nothing to rebase: the history has one head (${heads[0]})`);
      return { outcome: 'nothing', head: heads[0] };
    }
    if (heads.length > 2) {
      throw new FastkitError(`The history has ${heads.length} heads (${heads.join(', ')}); rebase puts one branch after the other of two`, {
        code: 'rebase-heads',
        hint: `Merge them with \`${project.commands.rebase} --merge\`.`,
      });
    }
    const base = await branchBase(project, options.onto);
    const { mine, theirs } = await whichBranchIsHere(project, base, branches);
    const facts = await callAlembic<ResultEvent<'rebase'>>(project, 'rebase', {
      request: { move: mine.revisions[0].revision, onto: theirs.head, branch: mine.revisions.map(({ revision }) => revision) },
    });
    out(`Rebased ${facts.revision} (${facts.message}) onto ${facts.onto}: ${displayPath(facts.path)} now revises ${facts.onto}`);
    for (const sum of facts.sums) out(`Updated ${displayPath(sum)}`);
    out(`One head: ${facts.head}. Commit the changes, then apply them with \`${project.commands.run}\``);
    return { outcome: 'rebased', revision: facts.revision, path: facts.path, head: facts.head };
  });
}

async function writeMergeRevision(project: Project): Promise<RebaseResult> {
  const facts = await callAlembic<ResultEvent<'merge'>>(project, 'merge');
  if (facts.noChanges) {
    project.output.out(facts.heads.length === 0 ? 'No revisions yet: nothing to merge' : `Nothing to merge: the history has one head (${facts.heads[0]})`);
    return { outcome: 'nothing', head: facts.heads[0] };
  }
  project.output.out(`Created ${displayPath(facts.path)}: merges ${facts.merged.join(', ')}`);
  project.output.out(`Review it, then apply it with \`${project.commands.run}\``);
  return { outcome: 'merged', revision: facts.revision, path: facts.path, head: facts.revision };
}

/** Where this git branch left the one it goes onto. */
interface BranchBase {
  /** The repository's top folder. */
  top: string;
  /** The branch (or commit) given by --onto, or the default branch. */
  onto: string;
  ontoCommit: string;
  /** `git merge-base HEAD <onto>`. */
  base: string;
}

async function branchBase(project: Project, onto: string | undefined): Promise<BranchBase> {
  const git = (...args: string[]) => askGit(args, project.cwd, project.env);
  const merge = `\`${project.commands.rebase} --merge\``;
  const top = await git('rev-parse', '--show-toplevel');
  if (top.exitCode !== 0) {
    throw new FastkitError(
      top.exitCode === 127
        ? 'git is not installed, and rebase asks git which revisions this branch added'
        : `${displayPath(project.cwd)} is not in a git repository, and rebase asks git which revisions this branch added`,
      { code: 'rebase-no-git', hint: `Run it in the project's git checkout, or write a merge revision with ${merge}.` },
    );
  }
  const branch = onto ?? (await defaultBranch(git));
  if (!branch) {
    throw new UsageError(
      'This repository has no default branch fastkit can find (no origin/HEAD, main or master)',
      `Name the branch this one started from with --onto, e.g. \`${project.commands.rebase} --onto develop\`.`,
    );
  }
  const commit = await git('rev-parse', '--verify', '--quiet', `${branch}^{commit}`);
  if (commit.exitCode !== 0 || !commit.lines[0]) {
    throw new UsageError(`--onto ${branch} names no branch or commit of this repository`, 'Give one git knows, e.g. --onto origin/main (`git branch -a` lists them).');
  }
  const base = await git('merge-base', 'HEAD', commit.lines[0]);
  if (base.exitCode !== 0 || !base.lines[0]) {
    throw new FastkitError(`This branch and ${branch} have no commit in common`, {
      code: 'rebase-no-base',
      hint: `Give the branch this one started from with --onto, or write a merge revision with ${merge}.`,
    });
  }
  return { top: top.lines[0], onto: branch, ontoCommit: commit.lines[0], base: base.lines[0] };
}

/** The repository's default branch: what origin/HEAD points at, else main, else master. */
async function defaultBranch(git: (...args: string[]) => ReturnType<typeof askGit>): Promise<string | undefined> {
  const remote = await git('symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD');
  if (remote.exitCode === 0 && remote.lines[0]) return remote.lines[0];
  for (const name of ['main', 'master']) {
    if ((await git('rev-parse', '--verify', '--quiet', `refs/heads/${name}^{commit}`)).exitCode === 0) return name;
  }
  return undefined;
}

/**
 * Of the two heads' own revisions, the branch whose files all exist only here (not on --onto, not
 * at the merge base) and the one whose files all exist there; anything else is refused.
 */
async function whichBranchIsHere(project: Project, base: BranchBase, branches: Branch[]): Promise<{ mine: Branch; theirs: Branch }> {
  const top = realpathSync(base.top);
  const inRepository = (path: string) => relative(top, realpathSync(path)).split(sep).join('/');
  const paths = branches.flatMap((branch) => branch.revisions.map(({ path }) => inRepository(path)));
  const elsewhere = new Set([...(await filesAt(project, base.top, base.ontoCommit, paths)), ...(await filesAt(project, base.top, base.base, paths))]);
  const here = branches.map((branch) => branch.revisions.filter(({ path }) => !elsewhere.has(inRepository(path))));
  const merge = `\`${project.commands.rebase} --merge\``;

  for (const [index, branch] of branches.entries()) {
    const added = here[index].length;
    if (added > 0 && added < branch.revisions.length) {
      const notHere = branch.revisions.filter((revision) => !here[index].includes(revision)).map(({ revision }) => revision);
      throw new FastkitError(
        `Of the ${branch.revisions.length} revisions of head ${branch.head}, ${notHere.length === 1 ? `${notHere[0]} is` : `${notHere.join(', ')} are`} not this branch's own (${base.onto} has ${notHere.length === 1 ? 'it' : 'them'})`,
        { code: 'rebase-not-this-branch', hint: `Rebase moves only revisions all added on this branch; write a merge revision with ${merge}.` },
      );
    }
  }
  const own = branches.filter((branch, index) => here[index].length === branch.revisions.length);
  if (own.length === 2) {
    throw new FastkitError(`Both heads (${branches.map(({ head }) => head).join(', ')}) were added on this branch since ${base.onto}, so rebase cannot tell which goes after the other`, {
      code: 'rebase-not-this-branch',
      hint: `Set the down_revision of one by hand, or write a merge revision with ${merge}.`,
    });
  }
  if (own.length === 0) {
    throw new FastkitError(`Neither head's revisions were added on this branch since ${base.onto} (merge base ${base.base.slice(0, 12)})`, {
      code: 'rebase-not-this-branch',
      hint: `Run it on the branch that added one of them, give the branch it started from with --onto, or write a merge revision with ${merge}.`,
    });
  }
  return { mine: own[0], theirs: branches.find((branch) => branch !== own[0])! };
}

/** Which of `paths` (relative to the repository's top) a commit has. */
async function filesAt(project: Project, top: string, commit: string, paths: string[]): Promise<string[]> {
  const listed = await askGit(['ls-tree', '-r', '--name-only', commit, '--', ...paths], top, { ...project.env, GIT_LITERAL_PATHSPECS: '1' });
  if (listed.exitCode !== 0) throw new FastkitError(`git ls-tree failed: ${listed.stderr.join(' ')}`, { code: 'rebase-git' });
  return listed.lines;
}
