"""`alembic upgrade head`, each migration reported as it starts; with checksums on, each one's
checksum recorded in the database as it is applied (checksum_table.py)."""

from ..alembic_project import AlembicProject, alembic_config, stepper
from ..checksum_table import recording_checksums


def run(request, events):
    project = AlembicProject(alembic_config(request, "upgrade", ["head"]))
    project.single_head()
    work, done = stepper(events, lambda rev: project.upgrade_steps("head", rev))
    checksums = {}
    if request.get("checksums"):
        work = recording_checksums(project, work, checksums)
    project.run_env(work, record=True, destination_rev="head")
    events.graph(project.graph())
    if checksums:
        events.result(applied=done, heads=project.heads(), checksums=checksums)
    else:
        events.result(applied=done, heads=project.heads())
