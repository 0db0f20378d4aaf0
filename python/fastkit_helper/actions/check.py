"""The revision history verified from the files alone, without a database (python/fastkit_check.py),
and each versions folder's checksum file against its revision files."""

import importlib.util
import os

from ..alembic_project import AlembicProject, alembic_config
from ..checksum_file import file_checksum, files_in, read_sum

# fastkit_check.py sits beside the package folder; loaded by path under a private name, so a
# project module called fastkit_check on sys.path can never stand in for it.
CHECK_RULES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fastkit_check.py")


def _check_rules():
    spec = importlib.util.spec_from_file_location("_fastkit_check", CHECK_RULES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(request, events):
    from alembic.util import load_python_file

    project = AlembicProject(alembic_config(request, "heads", []))

    def run_module(path):
        return load_python_file(os.path.dirname(path), os.path.basename(path))

    report = _check_rules().check_project(
        project.revision_files(),
        project.version_locations(),
        bool(project.script.version_locations),
        getattr(project.script, "file_template", None),
        request["config"],
        run_module,
        sums=list(_checksum_files(project)),
    )
    events.result(**report)


def _checksum_files(project):
    """Each versions folder's checksum file with its folder's revision files, as check_project
    takes them; folders without one are not checked for checksums."""
    for location in project.version_locations():
        recorded = read_sum(location) if os.path.isdir(location) else None
        if recorded is None:
            continue
        yield {
            "path": recorded.path,
            "entries": recorded.entries,
            "lines": recorded.lines,
            "conflict_line": recorded.conflict_line,
            "total_matches": recorded.total_matches,
            "malformed": recorded.malformed,
            "files": {name: (path, file_checksum(path)) for name, path in files_in(project, location).items()},
        }
