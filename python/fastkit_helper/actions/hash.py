"""`fastkit migrate hash`: each versions folder's checksum file written from its revision files as
they are now, for histories that predate fastkit, after a deliberate edit, or to settle a checksum
file that a git merge left with conflict markers."""

from ..alembic_project import AlembicProject, alembic_config
from ..checksum_file import rewrite_sums


def hash_revisions(request, events):
    project = AlembicProject(alembic_config(request, "heads", []))
    events.result(files=rewrite_sums(project))
