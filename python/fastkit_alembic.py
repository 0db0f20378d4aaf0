"""fastkit's bridge to Alembic: the script fastkit (Node) runs with the project's Python.

It performs one action (make, run, rollback, status, check, sql) through Alembic's own Python
API, exactly as the ``alembic`` command would, and reports facts and errors as JSON lines on the
file descriptor named by FASTKIT_EVENTS_FD. Human output (Alembic's logs, prints from env.py and
migrations) stays on stdout/stderr; fastkit streams it through its password masker and formats
the events itself.

With the argument `serve` it is instead a server for many requests, each in a fork of its own
after Alembic is imported once (fastkit_helper/serve.py says how). Otherwise the request comes
as JSON in the FASTKIT_REQUEST environment variable:
    {"action": "status", "config": "/abs/alembic.ini", "name": "alembic",
     "args": ["-x", "k=v"], "message": "...", "autogenerate": true}

The work is done by the package beside this file (fastkit_helper/), loaded by path under a
private module name: a module of the project's called fastkit_helper, or anything else on the
project's sys.path, can never stand in for it. This folder itself is taken off sys.path, which
then starts as `python -m alembic` would have it: with the folder Alembic runs in.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "_fastkit_helper"


def load_helper():
    """The fastkit_helper package, loaded once per process under its private name."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    folder = os.path.join(HERE, "fastkit_helper")
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    return package


def main():
    if sys.path and sys.path[0] and os.path.abspath(sys.path[0]) == HERE:
        del sys.path[0]
    try:
        helper = load_helper()
        if sys.argv[1:] == ["serve"]:
            # a batched Nx run: Alembic imported once, a fork per request (fastkit_helper/serve.py)
            return importlib.import_module(PACKAGE + ".serve").serve(os.environ)
    except KeyboardInterrupt:
        return 130
    return helper.run_once(os.environ)


if __name__ == "__main__":
    sys.exit(main())
