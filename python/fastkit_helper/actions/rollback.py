"""`alembic downgrade -1`: exactly one step, of one branch; with checksums on, the revision's
record leaves the database with it (checksum_table.py)."""

from ..alembic_project import AlembicProject, alembic_config, stepper
from ..checksum_table import forgetting_checksums
from ..protocol import Failure


def rollback(request, events):
    project = AlembicProject(alembic_config(request, "downgrade", ["-1"]))

    def steps_of(rev):
        if not rev:
            raise Failure("nothing-to-roll-back", "Nothing to roll back", "The database is at base: no migration is applied.")
        if len(rev) > 1:
            raise Failure(
                "multiple-current",
                "The database is on %d branches (%s); rollback undoes one step of one branch" % (len(rev), ", ".join(rev)),
                "Use alembic downgrade <branch>@-1 to choose the branch.",
            )
        return project.downgrade_steps("-1", rev)

    work, done = stepper(events, steps_of)
    if request.get("checksums"):
        work = forgetting_checksums(project, work, {})
    project.run_env(work, record=True, destination_rev="-1")
    events.graph(project.graph())
    events.result(reverted=done)
