"""One module per action; each is a function of (request, events).

A request imports only its own action's module: a one-shot helper then reads (and, where the
machine writes no bytecode, compiles) one of them rather than all eleven. A server that forks per
request imports them all once, ahead (fastkit_helper.preload).
"""

import importlib

# action -> (module in this package, function in it)
_WHERE = {
    "status": ("status", "status"),
    "run": ("run", "run"),
    "rollback": ("rollback", "rollback"),
    "make": ("make", "make"),
    "check": ("check", "check"),
    "sql": ("sql", "sql"),
    "hash": ("hash", "hash_revisions"),
    "branches": ("rebase", "branches"),
    "rebase": ("rebase", "rebase"),
    "merge": ("rebase", "merge"),
    "verify": ("verify", "verify"),
    "drift": ("drift", "drift"),
}


def action(name):
    """The function that performs the action `name` (a key of _WHERE)."""
    module, function = _WHERE[name]
    return getattr(importlib.import_module(f".{module}", __name__), function)


def import_all():
    """Every action's module, for a process that imports once and forks per request."""
    for name in _WHERE:
        action(name)
