"""fastkit's helper: one request (make, run, rollback, status, check, sql) performed through
Alembic's Python API, exactly as the `alembic` command would, with facts and errors reported as
events (protocol.py).

    protocol.py         the events, written in one place
    alembic_project.py  the Config and ScriptDirectory, built as the `alembic` command builds them
    actions/            one module per action
    explain.py          a failure in one line, with the fix
    sqlite_guards.py    what fastkit adds to SQLite connections for the length of a request
    process.py          signals and parent death, for the process that runs requests

The launcher (python/fastkit_alembic.py) loads this package by path under a private name and
calls run_once(). A request is a function of (request, events sink, cwd, env) with no state kept
between requests, so one process can also import Alembic once and serve many requests, each in
a fork of its own (project modules imported by env.py stay behind in sys.modules; a fork keeps
them from meeting the next project's).
"""

import json
import os
import sys
from contextlib import contextmanager

from . import process
from . import actions
from .alembic_project import import_alembic, quiet_alembic_logs
from .explain import report_exit, report_failure
from .protocol import Events, open_sink
from .sqlite_guards import sqlite_guards


def preload():
    """What every request imports, for a process that forks per request to import once."""
    import_alembic()
    import alembic.command  # noqa: F401
    import alembic.runtime.environment  # noqa: F401
    import alembic.script  # noqa: F401

    actions.import_all()


def handle(request, sink, cwd, env):
    """Performs one request in the project folder `cwd` with the environment `env`, writing its
    events to `sink`; returns the exit code. What it changes in the process (folder, environment,
    sys.path, SQLAlchemy listeners, Alembic's loggers) is put back when it returns."""
    events = Events(sink)
    with _in_project(cwd, env):
        try:
            import_alembic()
            with sqlite_guards(may_create_database=request["action"] == "run"), quiet_alembic_logs():
                actions.action(request["action"])(request, events)
        except Exception as error:  # noqa: BLE001 - every failure becomes one explained event
            report_failure(events, request, error, error.__traceback__)
            return 1
        except SystemExit as error:
            return report_exit(events, error)
    return 0


def run_once(environ):
    """The process fastkit starts for one request: FASTKIT_REQUEST holds it (JSON), events go to
    the file descriptor FASTKIT_EVENTS_FD. Ctrl-C or SIGTERM at any moment, even while a failure
    is being reported, ends it with 130 or 143 and no Python traceback."""
    try:
        process.prepare()
        request = json.loads(environ["FASTKIT_REQUEST"])
        return handle(request, open_sink(environ.get("FASTKIT_EVENTS_FD")), os.getcwd(), environ)
    except KeyboardInterrupt:
        return process.EXIT_INTERRUPTED
    except process.Terminated:
        return process.EXIT_TERMINATED


@contextmanager
def _in_project(cwd, env):
    """The process as `python -m alembic` run in `cwd` would have it: that folder current and
    first on sys.path (so the ini's folder is importable), and `env` as the environment."""
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    saved_env = None if env is os.environ else dict(os.environ)
    if saved_env is not None:
        os.environ.clear()
        os.environ.update(env)
    os.chdir(cwd)
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        os.chdir(saved_cwd)
        if saved_env is not None:
            os.environ.clear()
            os.environ.update(saved_env)
