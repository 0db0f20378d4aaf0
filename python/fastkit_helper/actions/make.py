"""`alembic revision [--autogenerate] -m MESSAGE`, made safe: no empty revision, no file
overwritten, no file left behind by a failure, none that does not compile; the new file, as
post-write hooks left it, recorded in its folder's checksum file (checksum_file.py)."""

import hashlib
import os
import tempfile

from ..alembic_project import AlembicProject, alembic_config
from ..checksum_file import record_revision
from ..protocol import Failure, revision_facts


def make(request, events):
    message = request["message"]
    autogenerate = request.get("autogenerate", True)
    command_args = ["-m", message] + (["--autogenerate"] if autogenerate else [])
    config = alembic_config(request, "revision", command_args)
    config.cmd_opts.quiet = True  # fastkit says "Created <path>" itself (Alembic 1.9+ reads it)
    project = AlembicProject(config)
    state = {"noChanges": False}

    def skip_empty(context, revision, directives):
        # Runs first; chain ourselves after env.py's own hook, so any env.py recipe sees the
        # directives untouched and we decide last.
        user_hook = context.opts.get("process_revision_directives")

        def decide(context, revision, directives):
            if user_hook is not None:
                user_hook(context, revision, directives)
            if not directives or all(all(ops.is_empty() for ops in d.upgrade_ops_list) for d in directives):
                state["noChanges"] = True
                directives[:] = []

        if autogenerate:
            context.opts["process_revision_directives"] = decide

    with make_lock(project), _unique_revision_paths(project) as paths:
        from alembic import command

        # the history as it is once no other make is writing a file into it: read before the
        # lock, a revision file another make has opened but not yet written reads as no revision
        heads = project.single_head()

        try:
            result = command.revision(
                config,
                message=_docstring_safe(message),
                autogenerate=autogenerate,
                version_path=_version_path(request, project, heads),
                process_revision_directives=skip_empty,
            )
        except BaseException as error:
            # Nothing half-written stays behind: a file this make wrote goes with its failure.
            written = paths.remove_written()
            if isinstance(error, SyntaxError) and written:
                raise _did_not_compile(error.msg, error.lineno)
            if written and _raised_in_write_hooks(error):
                raise _hook_failed(error, request["config"])
            raise
        moved = paths.settle()
        scripts = [s for s in (result if isinstance(result, list) else [result]) if s is not None]
        if state["noChanges"] or not scripts:
            events.result(noChanges=True)
            return
        created = revision_facts(scripts[0])
        created["path"] = moved.get(created["path"], created["path"])
        _compile_or_remove(created["path"])
        # Alembic ran the post-write hooks (formatters) before command.revision returned: the file is final
        record_revision(project, created["path"])
    events.result(noChanges=False, **created)


def _version_path(request, project, heads):
    """Where the new file goes: the folder asked for (Alembic's --version-path); else Alembic's
    own choice (beside the head it revises), and with several folders and no revision yet, where
    Alembic would ask, the first of them."""
    if request.get("versionPath"):
        return os.path.abspath(request["versionPath"])
    locations = project.version_locations()
    if len(locations) > 1 and not heads:
        return locations[0]
    return None


def _docstring_safe(message):
    """The message goes into the revision's docstring: escape what would end or bend it.

    Python reads the escaped text back as the original message, and the slug (made of word
    characters only) is unchanged.
    """
    return message.replace("\\", "\\\\").replace('"', '\\"')


def _did_not_compile(msg, lineno):
    return Failure(
        "revision-syntax",
        "The new revision did not compile (%s, line %s) and was removed" % (msg, lineno),
        "Check alembic/script.py.mako and the model code it rendered.",
    )


def _raised_in_write_hooks(error):
    """Whether Alembic's post-write hooks (alembic/script/write_hooks.py) raised it: the file is written by then."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    return any(frame.filename.replace("\\", "/").endswith("alembic/script/write_hooks.py") for frame in frames)


def _hook_failed(error, config_path):
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if not isinstance(error, Failure) and type(error).__name__ != "CommandError":
        detail = "%s: %s" % (type(error).__name__, detail)
    section = "[[tool.alembic.post_write_hooks]] in" if config_path.endswith(".toml") else "[post_write_hooks] in"
    return Failure(
        "post-write-hook",
        "A post-write hook failed (%s), so the new revision was removed" % detail,
        "Fix the hook in %s %s (its type and executable, module or entrypoint), or take it out of hooks."
        % (section, os.path.basename(config_path)),
    )


def _compile_or_remove(path):
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        compile(source, path, "exec")
    except SyntaxError as err:
        os.remove(path)
        raise _did_not_compile(err.msg, err.lineno)


class make_lock:
    """Serialises what writes revision files in one project (its script folder): makes, so two at
    once never produce two heads, and rebase and merge (rebase.py)."""

    def __init__(self, project):
        key = hashlib.sha1(os.path.abspath(project.script.dir).encode()).hexdigest()[:16]
        self.path = os.path.join(tempfile.gettempdir(), "fastkit-make-%s.lock" % key)

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock, same behaviour as Alembic
            self.file = None
            return self
        self.file = open(self.path, "a")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()


class _unique_revision_paths:
    """Alembic silently overwrites a revision whose file name is taken (two makes with one
    message in one second under a timestamp template). Pick a free name instead, and remember
    the names picked, so a failed make can take its file back.

    Alembic names the file in the private ScriptDirectory._rev_path (1.8 to 1.20 at least);
    where it exists, it is wrapped for the duration of the make to return a free name. Where it
    does not, the same outcome after the fact: every revision file's content is kept before the
    make (the make lock keeps others out meanwhile), and a file Alembic wrote over is given back
    its content while the new revision moves to a free name.
    """

    def __init__(self, project):
        self.project = project
        self.chosen = []
        self.before = {}

    def __enter__(self):
        from alembic.script import ScriptDirectory

        self.original = getattr(ScriptDirectory, "_rev_path", None)
        if self.original is None:
            for path, _name in self.project.revision_files():
                with open(path, "rb") as handle:
                    self.before[path] = handle.read()
            return self
        original, chosen = self.original, self.chosen

        def free_path(directory, *args, **kwargs):
            path = original(directory, *args, **kwargs)
            candidate = _free_name(str(path))
            chosen.append(candidate)
            return type(path)(candidate)

        ScriptDirectory._rev_path = free_path
        return self

    def settle(self):
        """Without _rev_path: a revision written over an existing file moves to a free name and
        the file gets its content back. Returns {path Alembic wrote: path of the new revision}."""
        moved = {}
        for path, content in self._overwritten():
            with open(path, "rb") as handle:
                new = handle.read()
            moved[path] = _free_name(path)
            with open(moved[path], "wb") as handle:
                handle.write(new)
            with open(path, "wb") as handle:
                handle.write(content)
        return moved

    def remove_written(self):
        """Removes the files this make wrote (and gives back any it wrote over); returns them."""
        written = [path for path in self.chosen if os.path.exists(path)]
        if self.original is None:
            written += [path for path, _name in self.project.revision_files() if path not in self.before]
            for path, content in self._overwritten():
                with open(path, "wb") as handle:
                    handle.write(content)
                written.append(path)
        for path in written:
            if path not in self.before:
                os.remove(path)
        return written

    def _overwritten(self):
        for path, content in self.before.items():
            try:
                with open(path, "rb") as handle:
                    if handle.read() == content:
                        continue
            except OSError:
                pass
            yield path, content

    def __exit__(self, *exc):
        if self.original is not None:
            from alembic.script import ScriptDirectory

            ScriptDirectory._rev_path = self.original


def _free_name(path):
    stem, suffix = os.path.splitext(path)
    candidate, n = path, 2
    while os.path.exists(candidate):
        candidate = "%s_%d%s" % (stem, n, suffix)
        n += 1
    return candidate
