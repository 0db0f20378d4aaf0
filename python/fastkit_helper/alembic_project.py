"""A project as Alembic reads it: its Config, built exactly as the `alembic` command builds it,
its ScriptDirectory, the folders and files its revisions come from, and the migration steps
between two points of its history.

Only Alembic's public API is used here, on every Alembic from 1.8 on. Where Alembic's own
command goes through a private helper, the public pieces that helper is made of are named next
to the code that repeats them.
"""

import gc
import hashlib
import logging
import os
import re
import sys
from contextlib import contextmanager

from .protocol import Failure
from .recording import recording


def import_alembic():
    # `import alembic` alone is not proof: the project's own alembic/ folder (on sys.path
    # through the ini's folder) imports as an empty namespace package when Alembic is missing.
    try:
        with _collector_paused():
            import alembic.config  # noqa: F401
            import sqlalchemy  # noqa: F401
    except ImportError as err:
        missing = (getattr(err, "name", None) or "alembic").split(".")[0]
        raise Failure("alembic-missing", "%s is not installed for %s" % (missing, sys.executable), None)


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused while Alembic and SQLAlchemy import, then told to
    leave what they built alone (gc.freeze). Their modules and classes live as long as the
    process, yet the collector would walk them again and again as they are made: a fifth of a
    request's CPU (a status request on the example, median of 8: 0.96 s -> 0.75 s). Collection
    resumes for env.py and the migrations, as before."""
    if "alembic.config" in sys.modules or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


class _QuietMigrationLog:
    """Drops Alembic's per-run chatter; fastkit reports migrations itself (from events).

    Attached to the logger objects, so it survives the logging.config.fileConfig() call that a
    typical env.py makes.
    """

    NOISE = ("Context impl ", "Will assume ", "Running upgrade", "Running downgrade", "setting up autogenerate plugin",
             "Generating static SQL")

    def filter(self, record):
        return not record.getMessage().startswith(self.NOISE)


QUIET_LOGGERS = ("alembic.runtime.migration", "alembic.runtime.plugins")


@contextmanager
def quiet_alembic_logs():
    quiet = _QuietMigrationLog()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).addFilter(quiet)
    try:
        yield
    finally:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).removeFilter(quiet)


def alembic_config(request, command, command_args):
    """The Config the `alembic` command line builds for `alembic <args> <command> <command_args>`,
    so env.py sees the same cmd_opts (-x, --sql, autogenerate...) and, from Alembic 1.16 on, the
    same pyproject.toml reading. CommandLine.run_cmd is the public hook that receives it."""
    from alembic.config import CommandLine

    if request["config"].endswith(".toml") and not reads_pyproject():
        raise Failure(*pyproject_needs_newer_alembic())

    class _Capture(CommandLine):
        def run_cmd(self, config, options):
            self.captured = config

    argv = ["-c", request["config"], "-n", request.get("name") or "alembic"]
    argv += list(request.get("args") or [])
    argv += [command] + command_args
    cli = _Capture(prog="alembic")
    try:
        cli.main(argv)
    except SystemExit:
        raise Failure(
            "usage",
            "Alembic did not accept the extra arguments %s" % " ".join(request.get("args") or []),
            "Pass only Alembic's global options in `args`, e.g. -x key=value.",
        )
    return cli.captured


def pyproject_needs_newer_alembic():
    """The failure of a config in pyproject.toml on an Alembic before 1.16, which reads ini files only."""
    import alembic

    return (
        "alembic-too-old",
        "Configuration in pyproject.toml needs Alembic 1.16 or later; this is Alembic %s" % alembic.__version__,
        "Upgrade Alembic in the project's Python environment, or keep the configuration in an alembic.ini.",
    )


def reads_pyproject():
    """Whether this Alembic reads a config from pyproject.toml (1.16 and later: Config's toml_file)."""
    import inspect

    from alembic.config import Config

    return "toml_file" in inspect.signature(Config.__init__).parameters


# Alembic's rule for which files in a versions folder are revisions (script/base.py,
# _only_source_rev_file).
REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


class AlembicProject:
    """The Config and ScriptDirectory of one request, and what fastkit asks of them."""

    def __init__(self, config):
        from alembic.script import ScriptDirectory

        self.config = config
        self.script = ScriptDirectory.from_config(config)
        # Hashed before Alembic reads the files (it does so lazily), so a file that changes in
        # between can only make fastkit's record look stale, never wrong.
        self.listing = self._listing()

    # --- where the revisions are ----------------------------------------------------------

    @property
    def recursive(self):
        # recursive_version_locations came with Alembic 1.10; before it, never recursive
        return bool(getattr(self.script, "recursive_version_locations", False))

    def version_locations(self):
        """The folders Alembic reads revisions from, absolute, in its order (what the private
        ScriptDirectory._version_locations computes from the public version_locations)."""
        from alembic.util import coerce_resource_to_filename

        if self.script.version_locations:
            return [os.path.abspath(os.fspath(coerce_resource_to_filename(location)))
                    for location in self.script.version_locations]
        return [os.path.abspath(os.path.join(self.script.dir, "versions"))]

    def revision_files(self):
        """(path, name) of every source revision file Alembic loads, in the order it loads them;
        name is relative to its folder, without .py, with / separators. Alembic's own listing
        (the private Script._list_py_dir) walks the same way: sorted, __pycache__ skipped, into
        subfolders only with recursive_version_locations."""
        files = []
        for location in self.version_locations():
            if not os.path.isdir(location):
                continue
            for folder, subfolders, names in os.walk(location):
                subfolders[:] = sorted(name for name in subfolders if name != "__pycache__") if self.recursive else []
                for name in sorted(names):
                    path = os.path.join(folder, name)
                    if REVISION_FILE.match(name) and os.path.isfile(path):
                        relative = os.path.relpath(path, location)[: -len(".py")].replace(os.sep, "/")
                        files.append((path, relative))
        return files

    def _listing(self):
        """The folders and the sha256 of each revision file, for fastkit's record of the graph;
        None where fastkit's record cannot cover what Alembic reads (.pyc files, subfolders)."""
        if self.script.sourceless or self.recursive:
            return None
        files = {}
        for path, _name in self.revision_files():
            with open(path, "rb") as handle:
                files[path] = hashlib.sha256(handle.read()).hexdigest()
        return {"locations": self.version_locations(), "files": files}

    # --- the history ----------------------------------------------------------------------

    def heads(self):
        return list(self.script.get_heads())

    def single_head(self):
        heads = self.heads()
        if len(heads) > 1:
            raise Failure(
                "multiple-heads",
                "The revision history has %d heads: %s" % (len(heads), ", ".join(heads)),
                MERGE_HINT,
            )
        return heads

    def applied_revisions(self, current):
        """The revisions (Script objects) a database at `current` has applied: those and every
        revision below them, as `alembic downgrade base` would undo them."""
        if not current:
            return []
        with revision_errors("Destination %(end)s is not a valid downgrade target from current head(s)", "base"):
            return list(self.script.iterate_revisions(tuple(current), "base", select_for_downgrade=True))

    def upgrade_steps(self, destination, current):
        """The steps `alembic upgrade <destination>` runs from `current`, in order (what the
        private ScriptDirectory._upgrade_revs returns, from the public iterate_revisions)."""
        from alembic.runtime.migration import MigrationStep

        with revision_errors("Destination %(end)s is not a valid upgrade target from current head(s)", destination):
            revisions = self.script.iterate_revisions(destination, current, implicit_base=True)
            return [MigrationStep.upgrade_from_script(self.script.revision_map, revision)
                    for revision in reversed(list(revisions))]

    def downgrade_steps(self, destination, current):
        """The steps `alembic downgrade <destination>` runs from `current` (the private
        ScriptDirectory._downgrade_revs, from the public iterate_revisions)."""
        from alembic.runtime.migration import MigrationStep

        with revision_errors("Destination %(end)s is not a valid downgrade target from current head(s)", destination):
            revisions = self.script.iterate_revisions(current, destination, select_for_downgrade=True)
            return [MigrationStep.downgrade_from_script(self.script.revision_map, revision) for revision in revisions]

    def current_heads(self, revisions):
        """A version table's rows as Alembic's `current` names them: only those no other row
        descends from (rows e1 and its descendant e3 are at e3), in the table's order."""
        if len(revisions) < 2:
            return list(revisions)
        with revision_errors("Destination %(end)s is not a valid upgrade target from current head(s)", None):
            kept = {script.revision for script in self.script.get_all_current(tuple(revisions)) if script is not None}
        return [revision for revision in revisions if revision in kept]

    def graph(self):
        """Alembic's view of the history for the graph event, or None where it cannot be kept."""
        if self.listing is None:
            return None
        revisions = [
            {
                "revision": revision.revision,
                "down": _as_list(revision.down_revision),
                "message": revision.doc,
                "branchLabels": sorted(revision.branch_labels),
                "dependsOn": _as_list(revision.dependencies),
            }
            for revision in self.script.walk_revisions()
        ]
        graph = dict(envPy=str(self.script.env_py_location), revisions=revisions, heads=self.heads(), **self.listing)
        if self.record is not None:
            graph["record"] = self.record
        return graph

    # --- running env.py -------------------------------------------------------------------

    record = None

    def run_env(self, fn, record=False, **environment_args):
        """Runs env.py with fn as the work function, as every Alembic command does. With
        `record`, what env.py used and read is kept for the graph event (recording.py)."""
        from alembic.runtime.environment import EnvironmentContext

        if not record:
            with EnvironmentContext(self.config, self.script, fn=fn, **environment_args):
                self.script.run_env()
            return
        with recording(os.environ) as watch:

            def recorded(rev, context):
                watch.migration_context(context)
                return fn(rev, context)

            with EnvironmentContext(self.config, self.script, fn=recorded, **environment_args):
                self.script.run_env()
        self.record = watch.record()


MERGE_HINT = "Merge them into one with `{rebase} --merge`, then `{run}`."  # the merge, recorded in fastkit.sum


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


@contextmanager
def revision_errors(ancestor, end):
    """Alembic's history errors, worded as the `alembic` command words them (the private
    ScriptDirectory._catch_revision_errors)."""
    from alembic.script import revision
    from alembic.util import CommandError

    try:
        yield
    except revision.RangeNotAncestorError as error:
        raise CommandError(ancestor % {"start": error.lower, "end": end}) from error
    except revision.MultipleHeads as error:
        raise CommandError(
            "Multiple head revisions are present for given argument '%s'; please specify a specific "
            "target revision, '<branchname>@%s' to narrow to a specific head, or 'heads' for all heads"
            % (end or error.argument, end or error.argument)
        ) from error
    except revision.ResolutionError as error:
        raise CommandError("Can't locate revision identified by '%s'" % error.argument) from error
    except revision.RevisionError as error:
        raise CommandError(error.args[0]) from error


def stepper(events, steps_of):
    """A work function that reports each migration just before Alembic runs it.

    Alembic iterates what the work function returns lazily, one step at a time, so a generator
    gets control between steps without touching Alembic's internals. Returns the work function
    and the list of steps done, filled as they complete.
    """
    done = []

    def work(rev, context):
        # whether a migration cut short is rolled back whole: as env.py configured the context,
        # and always on pysqlite, whose migrations sqlite_guards makes atomic
        transactional_ddl = getattr(context.impl, "transactional_ddl", False) or context.dialect.driver == "pysqlite"
        for step in steps_of(rev):
            facts = events.step(step, context.dialect.name, transactional_ddl)
            yield step
            done.append(facts)

    return work, done
