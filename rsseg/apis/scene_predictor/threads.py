"""The background threads of a scene run: the reader hands batches over, the blender and the writer run their calls
in order.

Reading, the model (the calling thread), blending and writing overlap; an error in any thread reaches the calling
thread.
"""
import queue
import threading
from typing import Any, Callable, Iterator, Optional


class Producer:
    """Runs a generator in a background thread and hands its items over through a bounded queue."""

    _DONE = object()

    def __init__(self, gen_fn: Callable[[], Iterator[Any]], maxsize: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(gen_fn,), daemon=True, name='rsseg-reader')
        self._thread.start()

    def _run(self, gen_fn: Callable[[], Iterator[Any]]) -> None:
        try:
            for item in gen_fn():
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer)
            self._error = exc
        self._put(self._DONE)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        """Stop the producer (if still running) and wait for its thread, which closes its file handles."""
        self._stop.set()
        self._thread.join()


class Consumer:
    """Runs submitted calls in order in one background thread (the blender, the writer); the first error is
    re-raised."""

    def __init__(self, maxsize: int = 2, name: str = 'rsseg-writer') -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job[0](*job[1])
                except BaseException as exc:  # noqa: BLE001  (re-raised in the caller's thread)
                    self._error = exc

    def submit(self, fn: Callable, *args: Any) -> None:
        """Queue ``fn(*args)``; raises the error of an earlier call instead."""
        if self._error is not None:
            raise self._error
        self._queue.put((fn, args))

    def close(self, raise_error: bool = True) -> None:
        """Run what is queued, stop the thread and raise the first error of a call (unless ``raise_error`` is
        False: closing after another error)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and raise_error:
            raise self._error
