"""Turns a failure into what fastkit prints: a stable code, one line naming the problem, and the
fix. A failure it cannot explain is still one line (the exception and where it was raised); the
traceback goes along for --verbose.
"""

import configparser
import os
import re
import traceback

from .alembic_project import MERGE_HINT, pyproject_needs_newer_alembic, reads_pyproject
from .protocol import Failure


def report_failure(events, request, error, tb):
    trace = "".join(traceback.format_exception(type(error), error, tb))
    explained = explain(error, tb, request)
    if explained is None:
        location = _frames_in(tb, _is_project_code)
        where = " (%s, line %s)" % (location[-1].filename, location[-1].lineno) if location else ""
        message = "%s: %s%s" % (type(error).__name__, _validation_errors(error) or _first_line(error) or "(no message)", where)
        events.error("unexpected", message, None, trace)
    else:
        code, message, hint = explained
        events.error(code, message, hint, trace)


def _validation_errors(error):
    """What a pydantic ValidationError says on the lines after its first (a settings class's
    fields and why each is wrong, never the value given), or None for any other error."""
    errors = getattr(error, "errors", None)
    if type(error).__name__ != "ValidationError" or not callable(errors):
        return None
    try:
        details = [(".".join(str(part) for part in item.get("loc", ())), item.get("msg", "")) for item in errors()]
    except Exception:
        return None
    if not details:
        return None
    shown = "; ".join("%s: %s" % (field, msg) if field else msg for field, msg in details[:3])
    more = " (and %d more)" % (len(details) - 3) if len(details) > 3 else ""
    title = getattr(error, "title", None)
    return "%s%s%s" % ("%s: " % title if title else "", shown, more)


def report_exit(events, error):
    """env.py or Alembic called sys.exit: keep its code, explain nothing we don't know."""
    code = error.code if isinstance(error.code, int) else 1
    if code:
        events.error("exit", _first_line(error.code) or "Alembic exited with code %s" % code, None,
                     "".join(traceback.format_exception(type(error), error, error.__traceback__)))
    return code


def explain(error, tb, request):
    """(code, message, hint) for an exception; None when fastkit cannot explain it."""
    if isinstance(error, Failure):
        return error.code, error.message, error.hint

    tagged = _tagged(error)
    if tagged is not None:
        return tagged

    from alembic import util as alembic_util

    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:
        sa_exc = None

    if isinstance(error, alembic_util.CommandError):
        return _command_error(str(error), request)

    if sa_exc is not None and isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) or (
        sa_exc is not None and isinstance(error, sa_exc.DBAPIError) and getattr(error, "connection_invalidated", False)
    ):
        detail = _driver_reason(_first_line(getattr(error, "orig", None) or error))
        lowered = detail.lower()
        url = _database_url_in(tb)
        where = " at %s" % url if url else ""
        for pattern, cause, fix in CONNECT_CAUSES:
            if re.search(pattern, lowered):
                # libpq says where a password it sent came from when the URL had none
                passfile = re.search(r'password retrieved from file "([^"]+)"', str(getattr(error, "orig", None) or error))
                if cause == "authentication failed" and passfile:
                    fix = "Check this user's line in %s, libpq's password file, or give the password in DATABASE_URL." % passfile.group(1)
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

    if sa_exc is not None and isinstance(error, getattr(sa_exc, "MissingGreenlet", ())):
        return ("async-driver",
                "The database URL's driver%s is async, but env.py runs the migrations without asyncio"
                % _driver_of(_database_url_in(tb)),
                "Use a sync driver in the URL (e.g. postgresql+psycopg://, sqlite:///), "
                "or an env.py that runs them with asyncio (as `alembic init -t async` writes).")

    if sa_exc is not None and isinstance(error, sa_exc.InvalidRequestError) and "requires an async driver" in str(error):
        loaded = re.search(r"The loaded '([^']+)'", str(error))
        return ("async-driver",
                "env.py runs the migrations with asyncio, but the database URL's driver%s is not async"
                % (" " + loaded.group(1) if loaded else ""),
                "Use an async driver in the URL (e.g. postgresql+asyncpg://, sqlite+aiosqlite:///), "
                "or an env.py without asyncio.")

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
        path = request.get("config", "alembic.ini")
        if _starts_with_bom(path):
            return _bom(path)
        return ("bad-config", "%s is not a valid ini file (%s)" % (path, _first_line(error).rstrip(".")),
                "Fix it, or give the right file with --config.")

    return None


def _tagged(error):
    """An exception that names its own fastkit code (`fastkit_code`, and `fastkit_hint` where it
    has one), as the generated env.py's migration lock raises on timeout, anywhere in its chain.
    Without a hint, a message of the form "what happened; what to do" is split there."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        code = getattr(error, "fastkit_code", None)
        if isinstance(code, str) and code:
            message, hint = _first_line(error), getattr(error, "fastkit_hint", None)
            if hint is None and "; " in message:
                message, hint = message.split("; ", 1)
                hint = hint[0].upper() + hint[1:].rstrip(".") + "."
            return code, message, hint
        error = error.__cause__ or error.__context__
    return None


def _command_error(text, request):
    """Alembic's CommandError: its own `FAILED:` text, with the fix where fastkit knows it."""
    if "Target database is not up to date" in text:
        return ("behind-head", "The database is behind head: apply the pending migrations first",
                "Run `{run}` first, then make the revision.")
    if "Multiple head revisions" in text or "Multiple heads are present" in text:
        return "multiple-heads", "FAILED: " + _first_line(text), MERGE_HINT
    # the lock of env.py files fastkit generated before the lock's error carried fastkit_code
    lock = re.match(r"(Timed out after .* waiting for the migration lock[^;]*); (.+)$", _first_line(text))
    if lock:
        return "lock-timeout", lock.group(1), lock.group(2)[0].upper() + lock.group(2)[1:].rstrip(".") + "."
    no_config = "No 'script_location' key found" in text or re.search(r"No config file .* found, or file has no '\[", text)
    if no_config and not reads_pyproject() and _pyproject_sets_script_location():
        # Alembic 1.16+ reads [tool.alembic] of the pyproject.toml in the folder it runs in; an
        # older one reads only the ini (where the `pyproject` template leaves logging alone)
        return pyproject_needs_newer_alembic()
    if no_config:
        # Alembic 1.8 says "No config file 'alembic.ini' found, or file has no '[name]' section"
        # for a -n naming no section of it; 1.20 says "No 'script_location' key found"
        return _missing_script_location(request)
    if "cannot proceed in --sql mode" in text:
        return ("sql-mode", "FAILED: " + _first_line(text),
                "Render the SQL for the database the migrations run on (the dialect option, e.g. postgresql): "
                "on SQLite, a batch operation needs a live database to read the table from.")
    if "python-dateutil' is required for timezone support" in text:
        import alembic

        return ("alembic-too-old",
                "Alembic %s needs python-dateutil for the timezone setting of the config" % alembic.__version__,
                "Install it in the project's Python environment (pip install python-dateutil, or Debian's "
                "python3-dateutil); newer Alembic uses Python's own zoneinfo.")
    if "is not represented in current version locations" in text:
        return ("usage", "FAILED: " + _first_line(text),
                "Give one of the folders version_locations names (relative to the project), or leave out versionPath (--version-path).")
    match = re.search(r"Can't locate revision identified by '([^']+)'", text)
    if match:
        return ("unknown-revision",
                "The database is at revision %s, which no file in the versions folder defines" % match.group(1),
                "Check out the branch that has that revision, or restore its file. If two projects share this "
                "database and one version table, give each its own database URL (or version_table).")
    return "alembic", "FAILED: " + _first_line(text), None


CONNECT_CAUSES = [
    (r"password authentication failed|access denied for user|authentication failed",
     "authentication failed", "Check the user and password in DATABASE_URL."),
    (r"no password supplied",
     "the server asks for a password, and none was given",
     "Give it in DATABASE_URL, or in libpq's password file (~/.pgpass or PGPASSFILE, readable by you only: chmod 600)."),
    (r"database \"?[^\"]*\"? does not exist|unknown database",
     "the database does not exist", "Create it (e.g. createdb NAME) or fix the name in DATABASE_URL."),
    (r"connection refused|could not connect|can't connect|no such file or directory|timeout expired|name or service not known|could not translate host name|connection to server",
     "the server is not reachable", "Start the database server or fix the host and port in DATABASE_URL."),
    (r"unable to open database file",
     "the SQLite file cannot be opened", "Check that the folder in the SQLite URL exists and is writable."),
]

URL_HINT = "Fix DATABASE_URL, e.g. postgresql+psycopg://user@host:5432/dbname or sqlite:///app.db."


def _starts_with_bom(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(3) == b"\xef\xbb\xbf"
    except OSError:
        return False


def _bom(path):
    return ("bad-config",
            "%s starts with a UTF-8 byte order mark (BOM), which Alembic's ini reader does not accept" % path,
            "Save it as UTF-8 without a BOM (e.g. VS Code: Save with Encoding > UTF-8).")


def _missing_script_location(request):
    """Alembic's "No 'script_location' key found": a wrong section name (-n), or not an Alembic config."""
    path, section = request.get("config", "alembic.ini"), request.get("name") or "alembic"
    if path.endswith(".toml"):
        return ("bad-config", "%s has no script_location in [tool.alembic]" % path,
                "Add script_location = \"%(here)s/alembic\" there.")
    if _starts_with_bom(path):
        return _bom(path)
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


def _pyproject_sets_script_location():
    """Whether the pyproject.toml of the folder Alembic runs in sets script_location in
    [tool.alembic]: what Alembic 1.16 and later read beside the ini."""
    try:
        import tomllib
    except ImportError:  # Python 3.10 and older: no toml reader to ask
        return False
    try:
        with open("pyproject.toml", "rb") as handle:
            tool = tomllib.load(handle).get("tool")
    except (OSError, ValueError):
        return False
    alembic_table = tool.get("alembic") if isinstance(tool, dict) else None
    return isinstance(alembic_table, dict) and "script_location" in alembic_table


def _first_line(text):
    for line in str(text).strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _frames_in(tb, predicate):
    return [frame for frame in traceback.extract_tb(tb) if predicate(frame.filename)]


def _is_env_py(filename):
    return os.path.basename(filename) == "env.py"


def _is_project_code(filename):
    """Whether a frame is the user's code (env.py, a migration, a module they import), not Python's, a package's or fastkit's."""
    if filename.startswith("<") or re.search(r"[\\/](site|dist)-packages[\\/]", filename):
        return False
    return not os.path.join(os.path.realpath(filename), "").startswith(_not_project_folders())


def _not_project_folders():
    """Where code that is not the project's lives: this helper, and Python's own library and
    packages (worked out on the error path only: sysconfig costs every start otherwise)."""
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple(
        os.path.join(os.path.realpath(folder), "")
        for folder in {
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            *filter(None, (paths.get(name) for name in ("stdlib", "platstdlib", "purelib", "platlib"))),
        }
    )


def _database_url_in(tb):
    """The URL of the engine that failed, found on the stack, with its password hidden."""
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            url = getattr(getattr(value, "engine", None), "url", None) or getattr(value, "url", None)
            if url is not None and hasattr(url, "render_as_string"):
                return url.render_as_string(hide_password=True)
        tb = tb.tb_next
    return None


def _driver_of(url):
    """The driver of a rendered URL after a space (postgresql+asyncpg://… gives " asyncpg"), or ""."""
    match = re.match(r"[^:/+]+\+([^:/]+)://", url or "")
    return " " + match.group(1) if match else ""


def _driver_reason(detail):
    """The driver's reason without libpq's preamble ("connection to server at …, port … failed: FATAL:  ")."""
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", detail.rsplit(" failed: ", 1)[-1].strip())
    return reason or detail
