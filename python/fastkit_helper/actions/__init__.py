"""One module per action; each is a function of (request, events)."""

from .check import check
from .drift import drift
from .hash import hash_revisions
from .make import make
from .rebase import branches, merge, rebase
from .rollback import rollback
from .run import run
from .sql import sql
from .status import status
from .verify import verify

ACTIONS = {
    "status": status,
    "run": run,
    "rollback": rollback,
    "make": make,
    "check": check,
    "sql": sql,
    "hash": hash_revisions,
    "branches": branches,
    "rebase": rebase,
    "merge": merge,
    "verify": verify,
    "drift": drift,
}
