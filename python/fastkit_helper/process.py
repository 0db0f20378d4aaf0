"""The helper process's hygiene: SIGTERM becomes an exception (so open transactions roll back on
the way out), and the process ends when fastkit does."""

import os
import signal
import sys

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """Raised by SIGTERM, so that open transactions roll back on the way out."""


def prepare():
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent()


def _on_sigterm(signum, frame):
    raise Terminated()


def _die_with_parent():
    """Ask Linux to send SIGTERM if fastkit itself dies (even by SIGKILL): no orphans."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:
            raise Terminated()
    except (OSError, AttributeError):
        pass
