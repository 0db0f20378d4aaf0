"""Alembic's own answer to `status`, for the fast path's differential test.

Reads one JSON request a line on stdin ({"config": ini, "url": database URL, "set": rows})
and answers each with one JSON line: what `alembic current` / `alembic heads` say, and what
`alembic upgrade heads` would apply, computed by Alembic's API from a fresh read of the files.
With "set", it first puts the database in that state: null drops the version table, a list
of revisions becomes its rows.
"""
import json
import sys

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text


def put_versions(connection, rows):
    connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    if rows is not None:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        for row in rows:
            connection.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": row})


engines = {}  # one per URL: its pool keeps a connection between requests (hundreds a test)

for line in sys.stdin:
    request = json.loads(line)
    if request["url"] not in engines:
        engines[request["url"]] = create_engine(request["url"])
    engine = engines[request["url"]]
    if "set" in request:
        with engine.begin() as connection:
            put_versions(connection, request["set"])
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
