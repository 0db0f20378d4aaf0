"""One module per action; each is a function of (request, events)."""

from .check import check
from .drift import drift
from .make import make
from .rollback import rollback
from .run import run
from .sql import sql
from .status import status
from .verify import verify

ACTIONS = {"status": status, "run": run, "rollback": rollback, "make": make, "check": check, "sql": sql, "verify": verify, "drift": drift}
