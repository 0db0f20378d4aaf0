"""Alembic's own answer to `status`, for the fast path's differential test.

Reads one JSON request a line on stdin and answers each with one JSON line:

    {"config": ini, "url": database URL, "set": rows}
        what `alembic current` / `alembic heads` say of the database at that URL, and what
        `alembic upgrade heads` would apply, computed by Alembic's API from a fresh read of the
        files. With "set", it first puts the database in that state: null drops the version
        table, a list of revisions becomes its rows. "table" and "schema" name another version
        table; "only": true answers nothing but {"rows": ...}, the rows it then has.
    {"raw": {"cwd": folder, "config": ini, "env": environment}}
        raw Alembic's answer for the project, env.py and all (raw_alembic.py): in a fork of this
        process, which has Alembic imported already; in a new interpreter where `env` changes
        what the interpreter reads as it starts (PYTHONPATH, PYTHONHOME...). With "upgrade":
        true, raw `alembic upgrade head` instead: {"ok": whether it succeeded}.

A URL is a string, or the parts of one ({"drivername", "database", ...}: SQLAlchemy's
URL.create), so a database name means itself whatever the SQLAlchemy version decodes.
"""
import json
import os
import subprocess
import sys

import raw_alembic

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL


def put_versions(connection, rows, table):
    connection.execute(text("DROP TABLE IF EXISTS %s" % table))
    if rows is not None:
        connection.execute(text("CREATE TABLE %s (version_num VARCHAR(32) NOT NULL PRIMARY KEY)" % table))
        for row in rows:
            connection.execute(text("INSERT INTO %s VALUES (:v)" % table), {"v": row})


def get_versions(connection, name, schema, table):
    from sqlalchemy import inspect

    if not inspect(connection).has_table(name, schema=schema):
        return None
    return sorted(row[0] for row in connection.execute(text("SELECT version_num FROM %s" % table)))


STARTUP = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONSTARTUP")


def raw(cwd, config, env, upgrade=False):
    if any(env.get(name) != os.environ.get(name) for name in STARTUP):
        argv = [sys.executable, raw_alembic.__file__, cwd, config] + (["upgrade"] if upgrade else [])
        ran = subprocess.run(argv, env=env, cwd=cwd,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        return json.loads(ran.stdout)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child answers and leaves without running anything of the parent's
        os.close(read)
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.environ.clear()
            os.environ.update(env)
            import importlib

            importlib.invalidate_caches()
            result = (raw_alembic.upgrade if upgrade else raw_alembic.answer)(cwd, config)
        except BaseException as error:  # noqa: BLE001 - the parent reports it
            result = {"error": "%s: %s" % (type(error).__name__, error)}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{"error": "the fork died"}')


# what a project's env.py may import: imported once here, so each fork starts faster
for module in ("dotenv", "pydantic_settings", "psycopg", "psycopg2"):
    try:
        __import__(module)
    except ImportError:
        pass

engines = {}  # one per URL: its pool keeps a connection between requests (hundreds a test)

for line in sys.stdin:
    request = json.loads(line)
    if "raw" in request:
        print(json.dumps(raw(**request["raw"])), flush=True)
        continue
    key = json.dumps(request["url"], sort_keys=True)
    if key not in engines:
        url = request["url"]
        engines[key] = create_engine(url if isinstance(url, str) else URL.create(**url))
    engine = engines[key]
    table = request.get("table") or "alembic_version"
    if request.get("schema"):
        table = '"%s".%s' % (request["schema"], table)
    if "set" in request:
        with engine.begin() as connection:
            put_versions(connection, request["set"], table)
    if request.get("only"):
        with engine.connect() as connection:
            rows = get_versions(connection, request.get("table") or "alembic_version", request.get("schema"), table)
            print(json.dumps({"rows": rows}), flush=True)
        continue
    try:
        script = ScriptDirectory.from_config(Config(request["config"]))
        with engine.connect() as connection:
            current = list(MigrationContext.configure(connection).get_current_heads())
        heads = list(script.get_heads())
        pending = [
            {"revision": step.revision.revision, "message": step.revision.doc}
            for step in script._upgrade_revs("heads", tuple(current))
        ]
        answer = {"current": current, "heads": heads, "pending": pending, "upToDate": set(current) == set(heads)}
    except Exception as error:  # the fast path must not answer where Alembic fails
        answer = {"error": "%s: %s" % (type(error).__name__, error)}
    print(json.dumps(answer), flush=True)
