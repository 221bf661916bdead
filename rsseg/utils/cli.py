"""Command-line plumbing shared by the tools: one clear error line and a non-zero exit for bad input and for
environment faults (read-only folder, full disk, missing permissions)."""
import errno
import os
import sys
from typing import Callable, NoReturn, Optional, Sequence

# Exceptions that mean "the user's input is wrong"; anything else is a bug and keeps its traceback.
USER_ERRORS = (FileNotFoundError, NotADirectoryError, PermissionError, ValueError, KeyError, TypeError, RuntimeError)
# OSError numbers that mean "the machine refuses", not "rsseg is wrong": one line too.
ENVIRONMENT_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO,
                                errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG})


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit."""
    print(f'error: {message}', file=sys.stderr, flush=True)
    sys.exit(code)


def run_cli(main: Callable[[Optional[Sequence[str]]], int], argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Run ``main(argv)`` and exit with its status; a user error becomes one ``error:`` line (set
    ``RSSEG_DEBUG=1`` for the traceback)."""
    try:
        code = main(argv)
    except (*USER_ERRORS, OSError) as exc:
        if os.environ.get('RSSEG_DEBUG') or not _is_user_error(exc):
            raise
        fail(error_line(exc))
    except KeyboardInterrupt:
        fail('interrupted', 130)
    sys.exit(code or 0)


def _is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is bad input or an environment fault (a plain OSError only with an environment errno)."""
    return isinstance(exc, USER_ERRORS) or (isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS)


def error_line(exc: BaseException) -> str:
    """One line for ``exc``: ``PATH: read-only file system`` for OS errors, the first message line otherwise."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename and str(exc).startswith('[Errno'):
        return f'{exc.filename}: {exc.strerror[0].lower()}{exc.strerror[1:]}'
    message = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
