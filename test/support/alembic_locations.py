"""Alembic's own answer to "which folders does it read revisions from", for the cache inputs'
differential test (test/integration/offline-inputs-differential.spec.ts).

Reads one JSON request a line on stdin ({"cwd": folder, "config": path, "section": name}) and
answers each with one JSON line: the folders ScriptDirectory.from_config reads revisions from
(absolute, normalised), whether it reads their subfolders, or the error Alembic raised. The
Config is built as fastkit's helper and Alembic's CLI build it (`-c CONFIG -n SECTION`), in the
folder Alembic runs in.
"""
import json
import os
import sys
import warnings

from alembic.config import CommandLine, Config
from alembic.script import ScriptDirectory

warnings.simplefilter("ignore")  # path_separator's deprecation warnings

for line in sys.stdin:
    request = json.loads(line)
    os.chdir(request["cwd"])
    try:
        cli = CommandLine(prog="alembic")
        options = cli.parser.parse_args(["-c", request["config"], "-n", request["section"], "heads"])
        toml, ini = cli._inis_from_config(options)
        config = Config(file_=ini, toml_file=toml, ini_section=options.name, cmd_opts=options)
        script = ScriptDirectory.from_config(config)
        answer = {
            "folders": [os.path.normpath(str(location)) for location in script._version_locations],
            "recursive": bool(script.recursive_version_locations),
        }
    except Exception as error:  # noqa: BLE001 - the test compares failures too
        answer = {"error": "%s: %s" % (type(error).__name__, str(error).splitlines()[0] if str(error) else "")}
    print(json.dumps(answer), flush=True)
