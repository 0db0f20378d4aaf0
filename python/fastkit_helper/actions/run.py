"""`alembic upgrade head`, each migration reported as it starts."""

from ..alembic_project import AlembicProject, alembic_config, stepper


def run(request, events):
    project = AlembicProject(alembic_config(request, "upgrade", ["head"]))
    project.single_head()
    work, done = stepper(events, lambda rev: project.upgrade_steps("head", rev))
    project.run_env(work, record=True, destination_rev="head")
    events.graph(project.graph())
    events.result(applied=done, heads=project.heads())
