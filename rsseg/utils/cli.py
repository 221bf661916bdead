"""Command-line plumbing shared by the tools: one clear error line and a non-zero exit for bad input."""
import os
import sys
from typing import Callable, NoReturn, Optional, Sequence

# Exceptions that mean "the user's input is wrong"; anything else is a bug and keeps its traceback.
USER_ERRORS = (FileNotFoundError, NotADirectoryError, PermissionError, ValueError, KeyError, TypeError, RuntimeError)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr and exit."""
    print(f'error: {message}', file=sys.stderr, flush=True)
    sys.exit(code)


def run_cli(main: Callable[[Optional[Sequence[str]]], int], argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Run ``main(argv)`` and exit with its status; a user error becomes one ``error:`` line (set
    ``RSSEG_DEBUG=1`` for the traceback)."""
    try:
        code = main(argv)
    except USER_ERRORS as exc:
        if os.environ.get('RSSEG_DEBUG'):
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        fail(str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__)
    except KeyboardInterrupt:
        fail('interrupted', 130)
    sys.exit(code or 0)
