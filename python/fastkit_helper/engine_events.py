"""SQLAlchemy event listeners that last as long as a block: nothing of one request stays for the next."""

from contextlib import contextmanager


@contextmanager
def listening(listeners):
    """Each (target, event name, function) listens while the block runs, and no longer after it."""
    from sqlalchemy import event

    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield
    finally:
        for target, name, fn in listeners:
            if event.contains(target, name, fn):
                event.remove(target, name, fn)
