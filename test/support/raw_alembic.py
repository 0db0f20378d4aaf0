"""Raw Alembic's answer to `status` for a project, as a user gets it from the command line.

`answer(cwd, config)` runs Alembic's own command line (`alembic current`, `alembic heads`) in
the current process as `python -m alembic` would run in `cwd`: that folder first on sys.path,
env.py executed by Alembic, the environment as it is. It parses what `current` prints, and adds
what `upgrade heads` would apply (from Alembic's ScriptDirectory). A failure of either command
is the answer {"error": ...}. Used by alembic_oracle.py in a fresh fork per question, and as a
script (`python raw_alembic.py CWD CONFIG`) where the interpreter itself must start fresh.
"""
import json
import os
import re
import sys
import tempfile

LINE = re.compile(r"^(\w+)(?: \((?:head|branchpoint|mergepoint|effective head)\))*\s*$")


def _cli(config, *command):
    """Alembic's command line on `command`: (exit code, what it printed on stdout)."""
    from alembic.config import main

    with tempfile.TemporaryFile() as captured:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(captured.fileno(), 1)
        try:
            try:
                main(argv=["-c", config, *command], prog="alembic")
                code = 0
            except SystemExit as error:
                code = error.code if isinstance(error.code, int) else 1
            except Exception as error:  # a traceback, as the command line would end with
                print("%s: %s" % (type(error).__name__, error), file=sys.stderr)
                code = 1
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        captured.seek(0)
        return code, captured.read().decode("utf-8", "replace")


def _as_python_m_alembic(cwd):
    os.chdir(cwd)
    sys.path[0] = cwd  # `python -m alembic` puts the folder it runs in first


def upgrade(cwd, config):
    """`alembic upgrade head`: {"ok": whether it succeeded}."""
    _as_python_m_alembic(cwd)
    code, _printed = _cli(config, "upgrade", "head")
    return {"ok": code == 0}


def answer(cwd, config):
    _as_python_m_alembic(cwd)
    code, printed = _cli(config, "current")
    if code != 0:
        return {"error": "alembic current exited with %s" % code}
    current = [match.group(1) for match in map(LINE.match, printed.splitlines()) if match]
    code, printed = _cli(config, "heads")
    if code != 0:
        return {"error": "alembic heads exited with %s" % code}
    heads = [match.group(1) for match in map(LINE.match, printed.splitlines()) if match]
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(config))
    try:
        pending = [
            {"revision": step.revision.revision, "message": step.revision.doc}
            for step in script._upgrade_revs("heads", tuple(current))
        ]
    except Exception as error:
        return {"error": "upgrade heads: %s: %s" % (type(error).__name__, error)}
    return {"current": current, "heads": heads, "pending": pending, "upToDate": set(current) == set(heads)}


if __name__ == "__main__":
    command = upgrade if sys.argv[3:] == ["upgrade"] else answer
    print(json.dumps(command(sys.argv[1], sys.argv[2])), flush=True)
