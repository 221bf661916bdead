"""The tiler's worker processes: a process pool kept for later runs, or one synchronous stand-in for one worker.

Workers die with the tiler (even when it is killed), so a killed run leaves no process behind.
"""
import atexit
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Dict, Optional

_EXECUTORS: Dict[int, ProcessPoolExecutor] = {}


def executor(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers``, kept for later calls in this process (starting one costs ~0.1 s per worker).

    Jobs carry everything they need (pickled), so a pool forked earlier serves later runs; a broken pool (a worker
    killed) is replaced.
    """
    pool = _EXECUTORS.get(workers)
    if pool is None or getattr(pool, '_broken', False) or getattr(pool, '_shutdown_thread', False):
        method = 'fork' if sys.platform.startswith('linux') else 'spawn'
        pool = ProcessPoolExecutor(workers, mp_context=get_context(method), initializer=_die_with_parent)
        _EXECUTORS[workers] = pool
    return pool


def _die_with_parent() -> None:
    """Worker initializer: the kernel kills this worker when the tiler dies (even by SIGKILL), on Linux."""
    if sys.platform.startswith('linux'):
        import ctypes
        import signal
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


@atexit.register
def _shutdown_executors() -> None:
    """Stop the kept pools when the process exits."""
    for pool in _EXECUTORS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _EXECUTORS.clear()


class Pool:
    """A process pool (fork context) or, for one worker, a synchronous stand-in with the same interface."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self.executor: Optional[ProcessPoolExecutor] = None

    def __enter__(self) -> 'Pool':
        if self.workers > 1:
            self.executor = executor(self.workers)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.executor = None

    def submit(self, fn: Any, *args: Any) -> Future:
        """Run ``fn(*args)`` in a worker (or here, for one worker); its exception is delivered by the future."""
        if self.executor is not None:
            return self.executor.submit(fn, *args)
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - delivered like a worker's exception
            fut.set_exception(exc)
        return fut
