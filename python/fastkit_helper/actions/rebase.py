"""`fastkit migrate rebase`, Alembic's half: the two heads and each one's own revisions
(`branches`), the first revision of one re-parented onto the other head (`rebase`), or a merge
revision (`merge`). Which branch is this git branch's is decided by fastkit's Node side, which
asks git (src/rebase.ts); nothing here runs git.

A re-parented file changes in two places only: the value of `down_revision` and the `Revises:`
line of its docstring; every other byte stays. The result is then read by Alembic afresh (one
head, the file compiles), and put back as it was if it is not.
"""

import ast
import glob
import os
import re
import shutil

from ..alembic_project import AlembicProject, _as_list, alembic_config
from ..checksum_file import file_checksum, location_of, read_sum, record_revision, revision_name, write_sum
from ..protocol import Failure, revision_facts
from .make import make_lock


def branches(request, events):
    """The heads, and with exactly two, the revisions of each that the other does not have,
    oldest first."""
    project = AlembicProject(alembic_config(request, "heads", []))
    heads = project.heads()
    found = []
    if len(heads) == 2:
        for head, other in (heads, heads[::-1]):
            theirs = {revision.revision for revision in project.applied_revisions([other])}
            own = [revision for revision in project.applied_revisions([head]) if revision.revision not in theirs]
            found.append({
                "head": head,
                "revisions": [dict(revision_facts(revision), down=_as_list(revision.down_revision)) for revision in reversed(own)],
            })
    events.result(heads=heads, branches=found)


def rebase(request, events):
    """Re-parents revision request["move"] onto head request["onto"]; request["branch"] lists
    the revisions that move with it (its branch), none of which may be applied in the database."""
    config = alembic_config(request, "heads", [])
    project = AlembicProject(config)
    # no make writes a revision file while the history is read and the file rewritten
    with make_lock(project):
        _rebase(request, events, config, project)


def _rebase(request, events, config, project):
    onto, branch = request["onto"], list(request["branch"])
    moved = project.script.get_revision(request["move"])
    if onto not in project.heads() or moved is None or moved.revision not in branch:
        raise Failure("rebase-stale", "The history changed while rebase was reading it", "Run the rebase again.")
    old_down = _as_list(moved.down_revision)
    if len(old_down) > 1:
        raise Failure(
            "rebase-merge-revision",
            "%s is a merge revision (it revises %s); rebase re-parents a revision with one parent" % (moved.revision, ", ".join(old_down)),
            "Write a merge revision instead with `{rebase} --merge`.",
        )
    _refuse_applied(project, branch)

    path = str(moved.path)
    rewritten = reparented_source(_read(path), path, old_down[0] if old_down else None, onto)
    originals = {path: _read(path)}
    sums = _sums_to_write(project, path)
    for sum_file in sums.values():
        originals[sum_file] = _read(sum_file)
    try:
        _write(path, rewritten)
        written = _write_sums(project, path, sums)
        head = _checked_by_alembic(config, moved.revision, onto, path)
    except BaseException:
        for file, content in originals.items():
            _write(file, content)
        raise
    events.result(
        revision=moved.revision,
        message=moved.doc,
        path=path,
        **{"from": old_down},
        onto=onto,
        head=head,
        sums=written,
    )


def merge(request, events):
    """`alembic merge heads -m "merge heads"`, recorded in the checksum file."""
    config = alembic_config(request, "merge", ["-m", "merge heads", "heads"])
    config.cmd_opts.quiet = True
    project = AlembicProject(config)
    # no make writes a revision file meanwhile, nor reads the merge revision half-written
    with make_lock(project):
        _merge(events, config, project)


def _merge(events, config, project):
    from alembic import command

    heads = project.heads()
    if len(heads) < 2:
        events.result(noChanges=True, heads=heads)
        return
    script = command.merge(config, "heads", message="merge heads")
    path = str(script.path)
    try:
        with open(path, "rb") as handle:
            compile(handle.read(), path, "exec")
    except SyntaxError as error:
        os.remove(path)
        raise Failure(
            "revision-syntax",
            "The merge revision did not compile (%s, line %s) and was removed" % (error.msg, error.lineno),
            "Check alembic/script.py.mako.",
        )
    record_revision(project, path)
    events.result(noChanges=False, merged=heads, **revision_facts(script))


def _refuse_applied(project, branch):
    """Refuses while a revision of the branch is applied in the database env.py connects to:
    moving it would leave that database with a history it never ran."""
    state = {}

    def read_current(rev, context):
        state["current"] = list(context.get_current_heads())
        return []

    project.run_env(read_current, dont_mutate=True)
    applied = {revision.revision for revision in project.applied_revisions(state.get("current", []))}
    mine = [revision for revision in branch if revision in applied]
    if not mine:
        return
    if len(mine) == 1:
        only = project.script.get_revision(mine[0])
        raise Failure(
            "rebase-applied",
            "Revision %s (%s) of this branch is applied in the database" % (only.revision, only.doc),
            "Roll it back first with `{rollback}`, then rebase again.",
        )
    raise Failure(
        "rebase-applied",
        "%d revisions of this branch are applied in the database (%s)" % (len(mine), ", ".join(mine)),
        "Roll them back first: run `{rollback}` %d times, then rebase again." % len(mine),
    )


# --- the file -------------------------------------------------------------------------------

_REVISES = re.compile(rb"^(?P<lead>[ \t]*Revises:[ \t]*)(?P<value>.*?)(?P<trail>[ \t]*)$")
_STRING_START = re.compile(rb"^(?P<prefix>[rRuU]?)(?P<quote>'''|\"\"\"|'|\")")


def reparented_source(source, path, old_down, new_down):
    """The revision file's bytes with `down_revision` set to `new_down` and its docstring's
    `Revises:` line (if it names `old_down`) to match; every other byte as it was."""
    tree = ast.parse(source, filename=path)
    lines = source.splitlines(keepends=True)
    value = _top_level_value(tree, "down_revision")
    if value is None or not (_is_constant(value, str) or _is_constant(value, type(None))) or value.lineno != value.end_lineno:
        raise Failure(
            "rebase-unreadable",
            "%s: down_revision is not written as one revision id, so fastkit cannot rewrite it" % path,
            "Set it to %r by hand, or write a merge revision with `{rebase} --merge`." % new_down,
        )
    revision_value = _top_level_value(tree, "revision")
    quote_from = value if _is_constant(value, str) else revision_value
    literal = _string_literal(lines, quote_from, new_down)
    index = value.lineno - 1
    line = lines[index]
    lines[index] = line[: value.col_offset] + literal + line[value.end_col_offset:]

    docstring = tree.body[0] if tree.body and isinstance(tree.body[0], ast.Expr) and _is_constant(tree.body[0].value, str) else None
    if docstring is not None:
        for index in range(docstring.lineno - 1, docstring.end_lineno):
            body = lines[index].rstrip(b"\r\n")
            match = _REVISES.match(body)
            if match and match.group("value").decode("utf-8", "replace") == (old_down or ""):
                ending = lines[index][len(body):]
                lines[index] = match.group("lead") + new_down.encode("utf-8") + match.group("trail") + ending
                break
    return b"".join(lines)


def _top_level_value(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == name for target in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    return None


def _is_constant(node, kind):
    return isinstance(node, ast.Constant) and isinstance(node.value, kind)


def _string_literal(lines, like, text):
    """`text` as a string literal in the quotes of the literal `like` (the file's own style)."""
    prefix, quote = b"", b"'"
    if like is not None and _is_constant(like, str) and like.lineno == like.end_lineno:
        start = _STRING_START.match(lines[like.lineno - 1][like.col_offset:])
        if start:
            prefix, quote = start.group("prefix"), start.group("quote")
    return prefix + quote + text.encode("utf-8") + quote


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _write(path, content):
    """Writes a file whole (a temporary file renamed over it), keeping its mode, and drops the
    bytecode Python cached for it: a rewrite of the same size in the same second would otherwise
    be read from the stale cache."""
    temporary = "%s.fastkit-%d.tmp" % (path, os.getpid())
    with open(temporary, "wb") as handle:
        handle.write(content)
    if os.path.exists(path):
        shutil.copymode(path, temporary)
    os.replace(temporary, path)
    stem = os.path.splitext(os.path.basename(path))[0]
    for cached in glob.glob(os.path.join(os.path.dirname(path), "__pycache__", glob.escape(stem) + ".*.pyc")):
        try:
            os.remove(cached)
        except OSError:
            pass


def _sums_to_write(project, path):
    """{location: checksum file} to write: the moved file's folder's, and any other that a git
    merge left with conflict markers."""
    sums = {}
    for location in project.version_locations():
        existing = read_sum(location) if os.path.isdir(location) else None
        if existing is not None and (existing.conflicted or location == location_of(project, path)):
            sums[location] = existing.path
    return sums


def _write_sums(project, path, sums):
    """Writes each checksum file whole: its entries as recorded (both sides of a conflict), the
    moved file's renewed. Returns their paths."""
    moved_in = location_of(project, path)
    written = []
    for location in sums:
        entries = dict(read_sum(location).entries)
        if location == moved_in:
            entries[revision_name(location, path)] = file_checksum(path)
        written.append(write_sum(location, entries))
    return written


def _checked_by_alembic(config, revision, onto, path):
    """The history read afresh by Alembic: one head, the moved revision on top of `onto`."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    with open(path, "rb") as handle:
        try:
            compile(handle.read(), path, "exec")
        except SyntaxError as error:
            raise Failure("rebase-check", "The rebased file does not compile (%s, line %s); it was put back" % (error.msg, error.lineno), None)
    try:
        script = ScriptDirectory.from_config(config)
        heads = list(script.get_heads())
        down = _as_list(script.get_revision(revision).down_revision)
    except CommandError as error:
        raise Failure("rebase-check", "Alembic cannot read the rebased history (%s); the files were put back" % error, None)
    if len(heads) != 1 or down != [onto]:
        raise Failure(
            "rebase-check",
            "After the rebase Alembic sees %d heads (%s); the files were put back" % (len(heads), ", ".join(heads)),
            "Point down_revision of %s at %s by hand, or write a merge revision with `{rebase} --merge`." % (revision, onto),
        )
    return heads[0]
