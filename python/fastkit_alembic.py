"""fastkit's bridge to Alembic.

fastkit (Node) runs this file with the project's Python. It performs one action (make, run,
rollback, status, check, sql) through Alembic's own Python API, exactly as the ``alembic`` command would,
and reports facts and errors as JSON lines on the file descriptor named by FASTKIT_EVENTS_FD.
Human output (Alembic's logs, prints from env.py and migrations) stays on stdout/stderr;
fastkit streams it through its password masker and formats the events itself.

The request comes as JSON in the FASTKIT_REQUEST environment variable:
    {"action": "status", "config": "/abs/alembic.ini", "name": "alembic",
     "args": ["-x", "k=v"], "message": "...", "autogenerate": true}
"""

import configparser
import json
import os
import re
import signal
import sys
import traceback


def _fastkit_check():
    """The static checks, beside this file: loaded by path (a project module of the same name
    on sys.path cannot stand in for it), and only by `check`, which alone needs them."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fastkit_check.py")
    spec = importlib.util.spec_from_file_location("fastkit_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """Raised by SIGTERM, so that open transactions roll back on the way out."""


class Failure(Exception):
    """A failure fastkit knows how to explain: a code, a one-line message and a fix."""

    def __init__(self, code, message, hint=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


# --- reporting ----------------------------------------------------------------------------


def _open_events():
    fd = os.environ.get("FASTKIT_EVENTS_FD")
    if fd:
        try:
            return os.fdopen(int(fd), "w", buffering=1, encoding="utf-8")
        except OSError:
            pass
    return sys.stderr


EVENTS = _open_events()


def emit(kind, **fields):
    fields["type"] = kind
    EVENTS.write(json.dumps(fields, default=str) + "\n")
    EVENTS.flush()


# --- process hygiene ----------------------------------------------------------------------


def _die_with_parent():
    """Ask Linux to send SIGTERM if fastkit itself dies (even by SIGKILL): no orphans."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:
            raise Terminated()
    except (OSError, AttributeError):
        pass


def _on_sigterm(signum, frame):
    raise Terminated()


# --- Alembic setup ------------------------------------------------------------------------


def _import_alembic():
    # `import alembic` alone is not proof: the project's own alembic/ folder (on sys.path
    # through the ini's folder) imports as an empty namespace package when Alembic is missing.
    try:
        import alembic.config  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as err:
        missing = (getattr(err, "name", None) or "alembic").split(".")[0]
        raise Failure(
            "alembic-missing",
            "%s is not installed for %s" % (missing, sys.executable),
            None,
        )


def _atomic_sqlite_migrations():
    """Makes each migration on SQLite commit or roll back as a whole, as on PostgreSQL.

    Python's sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE, so a
    migration's DDL (ALTER TABLE, CREATE TABLE) commits the moment it runs: a migration that
    fails or is interrupted (Ctrl-C) is left half-applied while alembic_version still names
    the previous revision, and the next run fails with "duplicate column". This is SQLAlchemy's
    documented pysqlite recipe (emit BEGIN when SQLAlchemy begins), attached to every engine
    env.py creates, after env.py's own listeners, so an env.py that already applies the recipe
    keeps working.
    """
    import weakref

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen = weakref.WeakSet()

    def begin(connection):
        dbapi_connection = connection.connection.dbapi_connection
        if not getattr(dbapi_connection, "in_transaction", True):
            connection.exec_driver_sql("BEGIN")

    def engine_connect(connection):
        engine = connection.engine
        if engine.dialect.driver == "pysqlite" and engine not in seen:
            seen.add(engine)
            event.listen(engine, "begin", begin)

    event.listen(Engine, "engine_connect", engine_connect)


def _no_new_sqlite_file():
    """status, make and rollback never create a SQLite database that does not exist yet.

    sqlite3 creates a missing file on connect; these commands would leave an empty database
    behind (in the wrong folder, for a mistyped URL). A missing file is an empty database, so
    they read an empty in-memory one instead, with the same result. `run` creates the file.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def do_connect(dialect, connection_record, cargs, cparams):
        if dialect.name != "sqlite" or cparams.get("uri") or not cargs:
            return
        path = cargs[0]
        if not isinstance(path, str) or not path or path == ":memory:" or os.path.exists(path):
            return
        if os.path.isdir(os.path.dirname(os.path.abspath(path))):  # else sqlite3 says it cannot open it
            cargs[0] = ":memory:"

    event.listen(Engine, "do_connect", do_connect)


class _QuietMigrationLog:
    """Drops Alembic's per-run chatter; fastkit reports migrations itself (from events).

    Attached to the logger object, so it survives the logging.config.fileConfig() call
    that a typical env.py makes.
    """

    NOISE = ("Context impl ", "Will assume ", "Running upgrade", "Running downgrade", "setting up autogenerate plugin",
             "Generating static SQL")

    def filter(self, record):
        message = record.getMessage()
        return not message.startswith(self.NOISE)


def _config(request, command, command_args):
    """Builds the Config exactly as Alembic's CLI does, so env.py sees the same cmd_opts."""
    import logging

    from alembic.config import CommandLine, Config

    logging.getLogger("alembic.runtime.migration").addFilter(_QuietMigrationLog())
    logging.getLogger("alembic.runtime.plugins").addFilter(_QuietMigrationLog())
    cli = CommandLine(prog="alembic")
    argv = ["-c", request["config"], "-n", request.get("name") or "alembic"]
    argv += list(request.get("args") or [])
    argv += [command] + command_args
    try:
        options = cli.parser.parse_args(argv)
    except SystemExit:
        raise Failure(
            "usage",
            "Alembic did not accept the extra arguments %s" % " ".join(request.get("args") or []),
            "Pass only Alembic's global options in `args`, e.g. -x key=value.",
        )
    toml, ini = cli._inis_from_config(options) if hasattr(cli, "_inis_from_config") else (None, request["config"])
    kwargs = dict(file_=ini, ini_section=options.name, cmd_opts=options)
    if toml is not None:
        kwargs["toml_file"] = toml
    return Config(**kwargs)


def _script_directory(config):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)
    # Hashed before Alembic reads the files (it does so lazily), so a file that changes in
    # between can only make fastkit's record look stale, never wrong.
    script.fastkit_listing = _revision_files(script)
    return script


# Alembic's own rule for which files in a versions folder are revisions (script/base.py).
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


def _revision_files(script):
    import hashlib

    if script.sourceless or script.recursive_version_locations:
        return None
    locations, files = [], {}
    for location in script._version_locations:
        locations.append(str(location))
        if not location.is_dir():
            continue
        for name in sorted(os.listdir(location)):
            path = os.path.join(str(location), name)
            if _REVISION_FILE.match(name) and os.path.isfile(path):
                with open(path, "rb") as handle:
                    files[path] = hashlib.sha256(handle.read()).hexdigest()
    return {"locations": locations, "files": files}


def _emit_graph(script):
    """Alembic's view of the revision history, for fastkit's fast path to reuse while the files
    stay the same (see src/revision-graph.ts)."""
    listing = getattr(script, "fastkit_listing", None)
    if listing is None:
        return
    revisions = [
        {
            "revision": revision.revision,
            "down": list(revision._all_down_revisions),
            "message": revision.doc,
            "branchLabels": sorted(revision.branch_labels),
            "dependsOn": list(revision.dependencies or ()),
        }
        for revision in script.walk_revisions()
    ]
    emit("graph", envPy=str(script.env_py_location), revisions=revisions, heads=list(script.get_heads()), **listing)


def _revision_facts(script, revision):
    return {
        "revision": revision.revision,
        "message": revision.doc,
        "path": str(revision.path),
        "downRevisions": list(revision._all_down_revisions),
    }


def _with_database(config, script, fn, **environment_args):
    """Runs env.py with fn as the work function, as every Alembic command does."""
    from alembic.runtime.environment import EnvironmentContext

    with EnvironmentContext(config, script, fn=fn, **environment_args):
        script.run_env()


MERGE_HINT = 'Merge them into one with `{alembic} merge heads -m "merge heads"`, then `{run}`.'


def _ensure_single_head(script):
    heads = list(script.get_heads())
    if len(heads) > 1:
        raise Failure(
            "multiple-heads",
            "The revision history has %d heads: %s" % (len(heads), ", ".join(heads)),
            MERGE_HINT,
        )
    return heads


# --- the four actions ---------------------------------------------------------------------


def status(request):
    config = _config(request, "current", [])
    script = _script_directory(config)
    state = {}

    def read_current(rev, context):
        state["current"] = list(context.get_current_heads())
        return []

    _with_database(config, script, read_current, dont_mutate=True)
    current = state.get("current", [])
    heads = list(script.get_heads())
    pending = [_revision_facts(script, step.revision) for step in script._upgrade_revs("heads", tuple(current))]
    emit(
        "result",
        current=current,
        heads=heads,
        pending=pending,
        upToDate=set(current) == set(heads),
        currentRevisions=[_revision_facts(script, r) for r in script.get_revisions(tuple(current)) if r],
    )
    _emit_graph(script)


def _stepper(steps_of, direction):
    """A work function that reports each migration just before Alembic runs it.

    Alembic iterates what the work function returns lazily, one step at a time, so a
    generator gets control between steps without touching Alembic's internals.
    """
    done = []

    def work(rev, context):
        for step in steps_of(rev):
            revision = step.revision
            facts = {
                "revision": revision.revision,
                "message": revision.doc,
                "path": str(revision.path),
            }
            if direction == "upgrade":
                facts["from"] = list(revision._all_down_revisions)
            else:
                facts["to"] = list(revision._all_down_revisions)
            # a migration cut short rolls back whole unless DDL commits as it runs (MySQL); SQLite's is atomic by _atomic_sqlite_migrations
            atomic = bool(context.impl.transactional_ddl) or context.dialect.driver == "pysqlite"
            emit("step", direction=direction, dialect=context.dialect.name, transactionalDdl=atomic, **facts)
            yield step
            done.append(facts)

    return work, done


def run(request):
    config = _config(request, "upgrade", ["head"])
    script = _script_directory(config)
    _ensure_single_head(script)
    work, done = _stepper(lambda rev: script._upgrade_revs("head", rev), "upgrade")
    _with_database(config, script, work, destination_rev="head")
    _emit_graph(script)
    emit("result", applied=done, heads=list(script.get_heads()))


def rollback(request):
    config = _config(request, "downgrade", ["-1"])
    script = _script_directory(config)

    def steps_of(rev):
        if not rev:
            raise Failure(
                "nothing-to-roll-back",
                "Nothing to roll back",
                "The database is at base: no migration is applied.",
            )
        if len(rev) > 1:
            raise Failure(
                "multiple-current",
                "The database is on %d branches (%s); rollback undoes one step of one branch"
                % (len(rev), ", ".join(rev)),
                "Use alembic downgrade <branch>@-1 to choose the branch.",
            )
        return script._downgrade_revs("-1", rev)

    work, done = _stepper(steps_of, "downgrade")
    _with_database(config, script, work, destination_rev="-1")
    _emit_graph(script)
    emit("result", reverted=done)


def make(request):
    message = request["message"]
    autogenerate = request.get("autogenerate", True)
    command_args = ["-m", message] + (["--autogenerate"] if autogenerate else [])
    config = _config(request, "revision", command_args)
    config.cmd_opts.quiet = True  # fastkit says "Created <path>" itself
    script = _script_directory(config)
    _ensure_single_head(script)
    state = {"noChanges": False}

    def skip_empty(context, revision, directives):
        # Runs first; chain ourselves after env.py's own hook, so any env.py recipe sees the
        # directives untouched and we decide last.
        user_hook = context.opts.get("process_revision_directives")

        def decide(context, revision, directives):
            if user_hook is not None:
                user_hook(context, revision, directives)
            if not directives or all(
                all(ops.is_empty() for ops in d.upgrade_ops_list) for d in directives
            ):
                state["noChanges"] = True
                directives[:] = []

        if autogenerate:
            context.opts["process_revision_directives"] = decide

    with _make_lock(script), _unique_revision_paths() as paths:
        from alembic import command

        try:
            result = command.revision(
                config,
                message=_docstring_safe(message),
                autogenerate=autogenerate,
                process_revision_directives=skip_empty,
            )
        except BaseException as error:
            # Nothing half-written stays behind: a file this make wrote goes with its failure.
            written = [path for path in paths.chosen if os.path.exists(path)]
            for path in written:
                os.remove(path)
            if isinstance(error, SyntaxError) and written:
                raise Failure(
                    "revision-syntax",
                    "The new revision did not compile (%s, line %s) and was removed" % (error.msg, error.lineno),
                    "Check alembic/script.py.mako and the model code it rendered.",
                )
            raise
    scripts = [s for s in (result if isinstance(result, list) else [result]) if s is not None]
    if state["noChanges"] or not scripts:
        emit("result", noChanges=True)
        return
    created = scripts[0]
    _compile_or_remove(str(created.path))
    emit("result", noChanges=False, **_revision_facts(script, created))


def _docstring_safe(message):
    """The message goes into the revision's docstring: escape what would end or bend it.

    Python reads the escaped text back as the original message, and the slug (made of word
    characters only) is unchanged.
    """
    return message.replace("\\", "\\\\").replace('"', '\\"')


class _make_lock:
    """Serialises makes in one versions folder, so two at once never produce two heads."""

    def __init__(self, script):
        import hashlib
        import tempfile

        key = hashlib.sha1(os.path.abspath(str(script.versions)).encode()).hexdigest()[:16]
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
    message in one second under a timestamp template). Pick a free name instead, and
    remember the names picked, so a failed make can take its file back."""

    def __enter__(self):
        from alembic.script import ScriptDirectory

        self.chosen = []
        self.original = getattr(ScriptDirectory, "_rev_path", None)
        if self.original is None:
            return self
        original = self.original
        chosen = self.chosen

        def free_path(directory, *args, **kwargs):
            path = original(directory, *args, **kwargs)
            stem, suffix = os.path.splitext(str(path))
            candidate, n = str(path), 2
            while os.path.exists(candidate):
                candidate = "%s_%d%s" % (stem, n, suffix)
                n += 1
            chosen.append(candidate)
            return type(path)(candidate)

        ScriptDirectory._rev_path = free_path
        return self

    def __exit__(self, *exc):
        if self.original is not None:
            from alembic.script import ScriptDirectory

            ScriptDirectory._rev_path = self.original


def _compile_or_remove(path):
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        compile(source, path, "exec")
    except SyntaxError as err:
        os.remove(path)
        raise Failure(
            "revision-syntax",
            "The new revision did not compile (%s, line %s) and was removed" % (err.msg, err.lineno),
            "Check alembic/script.py.mako and the model code it rendered.",
        )


# --- the offline actions: no database ------------------------------------------------------


def check(request):
    """The revision history verified from the files alone (see fastkit_check)."""
    config = _config(request, "heads", [])
    script = _script_directory(config)
    from alembic.util import load_python_file

    def run_module(path):
        return load_python_file(os.path.dirname(path), os.path.basename(path))

    emit("result", **_fastkit_check().check_script(script, request["config"], run_module))


def sql(request):
    """`alembic upgrade [FROM:]head --sql` into request["output"]: env.py's offline mode, no database."""
    start = request.get("from") or None
    if start == "base":
        start = None
    revision = "%s:head" % start if start else "head"
    config = _config(request, "upgrade", [revision, "--sql"])
    url = request.get("url")
    if url:
        _check_dialect_url(url, request.get("dialect"))
        # the stock env.py's offline mode reads sqlalchemy.url; fastkit's reads DATABASE_URL (set by fastkit)
        config.set_main_option("sqlalchemy.url", url)
    script = _script_directory(config)
    heads = _ensure_single_head(script)
    shown_start = _known_revision(script, start) if start else None
    state = {"dialect": None}
    work, done = _stepper(lambda rev: script._upgrade_revs("head", rev), "upgrade")

    def render(rev, context):
        state["dialect"] = context.dialect.name
        return work(rev, context)

    with open(request["output"], "w", encoding="utf-8") as output:
        config.output_buffer = output
        _with_database(config, script, render, as_sql=True, starting_rev=start, destination_rev="head")
    wanted = _dialect_name(url) if url else None
    if wanted and state["dialect"] and state["dialect"] != wanted:
        raise Failure(
            "dialect-ignored",
            "env.py rendered the SQL for %s, not %s: its offline mode does not use DATABASE_URL or sqlalchemy.url"
            % (state["dialect"], wanted),
            "Make run_migrations_offline() in env.py take the URL from DATABASE_URL (as fastkit's env.py does) "
            "or from config.get_main_option(\"sqlalchemy.url\").",
        )
    emit("result", dialect=state["dialect"], applied=done, heads=heads, start=shown_start)


def _dialect_name(url):
    from sqlalchemy.engine import make_url

    return make_url(url).get_dialect().name


def _check_dialect_url(url, dialect):
    from sqlalchemy import exc as sa_exc

    try:
        _dialect_name(url)
    except (sa_exc.NoSuchModuleError, sa_exc.ArgumentError):
        raise Failure(
            "usage",
            "Unknown dialect %s" % (dialect or url),
            "Use one SQLAlchemy knows, e.g. postgresql, mysql, mariadb, sqlite, mssql or oracle.",
        )


def _known_revision(script, revision):
    from alembic.util import CommandError

    try:
        found = script.get_revisions(revision)
    except CommandError as error:
        raise Failure("unknown-revision", "--from %s: %s" % (revision, _first_line(error)),
                      "Give a revision id of this history (or a unique prefix of one).")
    if not found or found[0] is None:
        raise Failure("unknown-revision", "--from %s names no revision of this history" % revision,
                      "Give a revision id of this history (or a unique prefix of one).")
    return found[0].revision


ACTIONS = {"status": status, "run": run, "rollback": rollback, "make": make, "check": check, "sql": sql}


# --- errors -------------------------------------------------------------------------------


def _first_line(text):
    for line in str(text).strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _frames_in(tb, predicate):
    return [frame for frame in traceback.extract_tb(tb) if predicate(frame.filename)]


def _is_env_py(filename):
    return os.path.basename(filename) == "env.py"


def _database_url_in(tb):
    """The URL of the engine that failed, found on the stack, with its password hidden."""
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            url = getattr(getattr(value, "engine", None), "url", None) or getattr(value, "url", None)
            if url is not None and hasattr(url, "render_as_string"):
                return url.render_as_string(hide_password=True)
        tb = tb.tb_next
    return None


CONNECT_CAUSES = [
    (r"password authentication failed|access denied for user|authentication failed",
     "authentication failed", "Check the user and password in DATABASE_URL."),
    (r"database \"?[^\"]*\"? does not exist|unknown database",
     "the database does not exist", "Create it (e.g. createdb NAME) or fix the name in DATABASE_URL."),
    (r"connection refused|could not connect|can't connect|no such file or directory|timeout expired|name or service not known|could not translate host name|connection to server",
     "the server is not reachable", "Start the database server or fix the host and port in DATABASE_URL."),
    (r"unable to open database file",
     "the SQLite file cannot be opened", "Check that the folder in the SQLite URL exists and is writable."),
]


def explain(error, tb):
    """Turns an exception into (code, message, hint); None when fastkit cannot explain it."""
    if isinstance(error, Failure):
        return error.code, error.message, error.hint

    from alembic import util as alembic_util

    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:
        sa_exc = None

    if isinstance(error, alembic_util.CommandError):
        text = str(error)
        hint = None
        if "Target database is not up to date" in text:
            return ("behind-head", "The database is behind head: apply the pending migrations first",
                    "Run `{run}` first, then make the revision.")
        if "Multiple head revisions" in text or "Multiple heads are present" in text:
            return ("multiple-heads", "FAILED: " + _first_line(text), MERGE_HINT)
        lock = re.match(r"(Timed out after .* waiting for the migration lock[^;]*); (.+)$", _first_line(text))
        if lock:  # the generated env.py's lock
            return "lock-timeout", lock.group(1), lock.group(2)[0].upper() + lock.group(2)[1:].rstrip(".") + "."
        if "No 'script_location' key found" in text:
            return _missing_script_location()
        if "cannot proceed in --sql mode" in text:
            return ("sql-mode", "FAILED: " + _first_line(text),
                    "Render the SQL for the database the migrations run on (the dialect option, e.g. postgresql): "
                    "on SQLite, a batch operation needs a live database to read the table from.")
        match = re.search(r"Can't locate revision identified by '([^']+)'", text)
        if match:
            return ("unknown-revision",
                    "The database is at revision %s, which no file in the versions folder defines" % match.group(1),
                    "Check out the branch that has that revision, or restore its file.")
        return "alembic", "FAILED: " + _first_line(text), hint

    if sa_exc is not None and isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) or (
        sa_exc is not None and isinstance(error, sa_exc.DBAPIError) and getattr(error, "connection_invalidated", False)
    ):
        detail = _driver_reason(_first_line(getattr(error, "orig", None) or error))
        lowered = detail.lower()
        url = _database_url_in(tb)
        where = " at %s" % url if url else ""
        for pattern, cause, fix in CONNECT_CAUSES:
            if re.search(pattern, lowered):
                return "connect", "Cannot connect to the database%s: %s (%s)" % (where, cause, detail), fix
        if getattr(error, "statement", None) is None:
            return "connect", "Cannot connect to the database%s: %s" % (where, detail), "Check DATABASE_URL."

    if sa_exc is not None and isinstance(error, sa_exc.ArgumentError) and "URL" in str(error):
        return "bad-url", "The database URL is not valid: %s" % _first_line(error), URL_HINT

    if isinstance(error, ValueError) and _frames_in(tb, lambda f: f.replace("\\", "/").endswith("sqlalchemy/engine/url.py")):
        port = re.search(r"invalid literal for int\(\) with base 10: ('[^']*')", str(error))
        what = "its port %s is not a number" % port.group(1) if port else _first_line(error)
        return "bad-url", "The database URL is not valid: %s" % what, URL_HINT

    if sa_exc is not None and isinstance(error, sa_exc.NoSuchModuleError):
        match = re.search(r"sqlalchemy\.dialects:(\S+)", str(error))
        dialect = match.group(1) if match else "?"
        return ("bad-url", "The database URL names a dialect SQLAlchemy does not know: %s" % dialect,
                "Start DATABASE_URL with a known one, e.g. postgresql+psycopg://, mysql+pymysql:// or sqlite:///.")

    if isinstance(error, ImportError) and _frames_in(tb, lambda f: "/sqlalchemy/dialects/" in f.replace("\\", "/")):
        return ("driver-missing",
                "The database driver %s is not installed" % (getattr(error, "name", None) or "for this URL"),
                "Install it in the project's Python environment (e.g. psycopg[binary] for postgresql+psycopg, "
                "pymysql for mysql+pymysql), or change the driver in DATABASE_URL.")

    if isinstance(error, SyntaxError) and error.filename:
        return ("syntax",
                "Syntax error in %s, line %s: %s" % (error.filename, error.lineno, error.msg),
                "Fix that file and run the command again.")

    if isinstance(error, ImportError) and _frames_in(tb, _is_env_py):
        frame = _frames_in(tb, _is_env_py)[-1]
        where = "%s, line %s" % (frame.filename, frame.lineno)
        if isinstance(error, ModuleNotFoundError):
            return ("env-import", "%s: %s" % (where, _first_line(error)),
                    "Install it in the project's Python environment, or fix the import.")
        return "env-import", "%s: %s" % (where, _first_line(error)), "Fix the import."

    if isinstance(error, ImportError) and str(error).startswith("Can't find Python file"):
        return ("env-missing", _first_line(error).replace("Can't find Python file", "Alembic's env.py is missing:"),
                "Restore it, or set Alembic up with `nx g fastkit:alembic-setup`.")

    if isinstance(error, configparser.Error):
        return ("bad-config", "%s is not a valid ini file (%s)" % (
                    REQUEST.get("config", "alembic.ini"), _first_line(error).rstrip(".")),
                "Fix it, or give the right file with --config.")

    return None


URL_HINT = "Fix DATABASE_URL, e.g. postgresql+psycopg://user@host:5432/dbname or sqlite:///app.db."


def _missing_script_location():
    """Alembic's "No 'script_location' key found": a wrong section name (-n), or not an Alembic config."""
    path, section = REQUEST.get("config", "alembic.ini"), REQUEST.get("name") or "alembic"
    if path.endswith(".toml"):
        return ("bad-config", "%s has no script_location in [tool.alembic]" % path,
                "Add script_location = \"%(here)s/alembic\" there.")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        pass
    usable = [other for other in parser.sections() if parser.has_option(other, "script_location")]
    if not usable:
        return ("bad-config", "%s is not an Alembic config: no section of it sets script_location" % path,
                "Give the project's alembic.ini with --config, or set Alembic up with `nx g fastkit:alembic-setup`.")
    if not parser.has_section(section):
        return ("bad-config", "%s has no [%s] section" % (path, section),
                "Check the section name given with -n/--name (sections with a script_location: %s)." % ", ".join(usable))
    return ("bad-config", "%s has no script_location in [%s]" % (path, section),
            "Add script_location = %%(here)s/alembic to it, or choose a section that has one with -n/--name (%s)."
            % ", ".join(usable))


def _driver_reason(detail):
    """The driver's reason without libpq's preamble ("connection to server at …, port … failed: FATAL:  ")."""
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", detail.rsplit(" failed: ", 1)[-1].strip())
    return reason or detail


def report_failure(error, tb):
    explained = explain(error, tb)
    trace = "".join(traceback.format_exception(type(error), error, tb))
    if explained is None:
        location = _frames_in(tb, lambda f: "/alembic/versions/" in f.replace("\\", "/") or _is_env_py(f))
        where = " (%s, line %s)" % (location[-1].filename, location[-1].lineno) if location else ""
        message = "%s: %s%s" % (type(error).__name__, _first_line(error) or "(no message)", where)
        emit("error", code="unexpected", message=message, hint=None, traceback=trace)
    else:
        code, message, hint = explained
        emit("error", code=code, message=message, hint=hint, traceback=trace)


def main():
    """Ctrl-C or SIGTERM at any moment, even while a failure is being reported, ends the
    helper with 130 or 143 and no Python traceback."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
        _die_with_parent()
        return _perform(json.loads(os.environ["FASTKIT_REQUEST"]))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated:
        return EXIT_TERMINATED


REQUEST = {}


def _perform(request):
    REQUEST.update(request)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # as `python -m alembic` does: the ini's folder is importable
    try:
        _import_alembic()
        _atomic_sqlite_migrations()
        if request["action"] != "run":
            _no_new_sqlite_file()
        ACTIONS[request["action"]](request)
    except Exception as error:  # noqa: BLE001 - every failure becomes one explained event
        report_failure(error, error.__traceback__)
        return 1
    except SystemExit as error:
        # Alembic and env.py scripts may exit; keep the code, explain nothing we don't know.
        code = error.code if isinstance(error.code, int) else 1
        if code:
            emit("error", code="exit", message=_first_line(error.code) or "Alembic exited with code %s" % code,
                 hint=None, traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)))
        return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
