"""Output files: written completely or not at all, paths confined to their folder, one writer per folder.

The one home of three policies every rsseg writer (tiler, converters, scene predictor, tools) follows:

* **Write, verify, rename.** Output goes to a hidden temporary name beside its target (:func:`temp_path`, carrying
  the writer's PID), is checked (a flushed and ``fsync``-ed text file; bytes written through Python's I/O, which
  raises on a failed write, for a raster encoded in memory; a raster GDAL wrote to disk itself reopened and decoded,
  because GDAL only logs a failed flush on close), then renamed. A failure removes the temporary file and raises one
  :class:`WriteError` naming the file and the cause ('no space left on device'); nothing appears under the final
  name. The next run of the same output removes the temporaries of dead runs (:func:`remove_stale_temps`).
* **Confined paths.** A path read from a manifest, record or sidecar must stay inside its folder
  (:func:`resolve_inside`): no absolute path, no ``..``, no symlink leaving it.
* **One writer per folder** (:class:`OutputLock`): a lock file holding the writer's PID, locked with ``flock`` so the
  lock of a dead process is free again.
"""
import errno
import fcntl
import hashlib
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import rasterio
from rasterio.windows import Window

from .errors import GeoError

PathLike = Union[str, Path]
LOCK_NAME = '.rsseg.lock'
# ``.NAME.KINDPID[.ext][.aux.xml|.ovr]``: the temporaries written by temp_path (and GDAL's side files of them).
_TEMP_RE = re.compile(r'^\..+\.(?:tmp|part|grid)(?P<pid>\d+)(?:\.[A-Za-z0-9]+)?(?:\.aux\.xml|\.ovr)?$')
_HELD: Dict[Path, Tuple[int, int]] = {}  # lock path -> (fd, depth) of the locks this process holds


class WriteError(OSError):
    """A file could not be written completely; nothing was left under its name."""

    def __init__(self, path: PathLike, cause: str, code: int = errno.EIO) -> None:
        super().__init__(code, cause, str(path))

    def __str__(self) -> str:
        return f'cannot write {self.filename}: {self.strerror}'


def temp_path(path: PathLike, kind: str = 'tmp') -> Path:
    """A hidden temporary name beside ``path`` (same folder: the rename is atomic), unique to this process.

    The extension is kept so that writers picking a format by name (matplotlib, GDAL) still do.
    """
    path = Path(path)
    return path.with_name(f'.{path.name}.{kind}{os.getpid()}{path.suffix}')


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(folder: PathLike) -> List[Path]:
    """Delete the temporaries (:func:`temp_path`) that dead processes left in ``folder``; returns them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if (m := _TEMP_RE.match(p.name)) and not pid_alive(int(m['pid']))]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _disk_full(folder: Path, need: int) -> bool:
    """Whether ``folder``'s file system has less room than ``need`` bytes (at least 1 MiB)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    free = (st.f_bfree if os.geteuid() == 0 else st.f_bavail) * st.f_frsize
    return free < max(need, 1 << 20)


def write_error(path: PathLike, exc: BaseException, tmp: Optional[Path] = None) -> WriteError:
    """The :class:`WriteError` for ``exc`` raised while writing ``path`` (through ``tmp``)."""
    code = getattr(exc, 'errno', None)
    size = tmp.stat().st_size if tmp is not None and tmp.exists() else 0
    if code in (errno.ENOSPC, errno.EDQUOT) or _disk_full(Path(path).parent, size):
        return WriteError(path, 'no space left on device', errno.ENOSPC)
    if isinstance(exc, OSError) and exc.strerror:
        return WriteError(path, exc.strerror[0].lower() + exc.strerror[1:], code or errno.EIO)
    return WriteError(path, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def discard(tmp: Path) -> None:
    """Remove a temporary file and GDAL's side files of it."""
    for p in (tmp, Path(f'{tmp}.aux.xml'), Path(f'{tmp}.ovr')):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass


@contextmanager
def atomic_output(path: PathLike, kind: str = 'tmp', raster: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; on success it is verified and renamed to ``path``.

    Args:
        path: Final name.
        kind: Tag of the temporary name (``tmp``, ``part``...).
        raster: Verify by reopening and decoding every pixel (:func:`verify_raster`).

    Raises:
        WriteError: Writing, verifying or renaming failed (I/O or GDAL errors); the temporary file is gone.
    """
    tmp = temp_path(path, kind)
    try:
        yield tmp
        if raster:
            verify_raster(tmp)
        os.replace(tmp, path)
    except (OSError, rasterio.errors.RasterioError, rasterio._err.CPLE_BaseError) as exc:
        if isinstance(exc, WriteError):
            error = WriteError(path, exc.strerror or '', exc.errno or errno.EIO)
        else:
            error = write_error(path, exc, tmp)
        discard(tmp)
        raise error from None
    except BaseException:
        discard(tmp)
        raise


def verify_raster(path: PathLike, rows: int = 1024) -> None:
    """Reopen a raster and decode every pixel of every band (in strips); a failure raises :class:`WriteError`."""
    try:
        with rasterio.Env(GDAL_PAM_ENABLED=False), rasterio.open(path) as src:
            for row in range(0, src.height, rows):
                src.read(window=Window(0, row, src.width, min(rows, src.height - row)))
    except (rasterio.errors.RasterioError, rasterio._err.CPLE_BaseError, OSError) as exc:
        raise write_error(path, exc, Path(path)) from None


def write_text(path: PathLike, text: str) -> None:
    """Write ``text`` to ``path`` completely (flushed and synced) or raise :class:`WriteError`."""
    with atomic_output(path) as tmp, open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def write_bytes(path: PathLike, data: Union[bytes, memoryview]) -> None:
    """Write ``data`` to ``path`` completely or raise :class:`WriteError` (Python's ``write``/``close`` raise on a
    full disk, so unlike a file GDAL wrote this needs no decoding to verify; not ``fsync``-ed: cheap for many chips)."""
    with atomic_output(path) as tmp, open(tmp, 'wb') as f:
        f.write(data)


def write_json(path: PathLike, data: Any, indent: int = 1) -> None:
    """:func:`write_text` of ``data`` as JSON."""
    write_text(path, json.dumps(data, indent=indent))


def file_sha256(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content (what an output was made from, whatever the file is called)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def resolve_inside(root: PathLike, entry: str, source: PathLike) -> Path:
    """``root / entry`` resolved, refused unless it stays inside ``root``.

    Args:
        root: The folder the entry is relative to (a manifest's or record's folder).
        entry: The path as stored (relative, forward slashes).
        source: The file the entry was read from, named in the error.

    Raises:
        GeoError: ``entry`` is absolute, climbs out with ``..``, or resolves (through symlinks) outside ``root``.
    """
    root = Path(root).resolve()
    if not isinstance(entry, str) or not entry:
        raise GeoError(source, f'path entry {entry!r} is not a relative file path')
    rel = Path(entry)
    if rel.is_absolute() or '..' in rel.parts:
        raise GeoError(source, f'path entry {entry!r} points outside {root} (absolute or ..); refusing it')
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        raise GeoError(source, f'path entry {entry!r} resolves to {target}, outside {root} (a symlink); '
                               'refusing it')
    return target


def resolve_all(root: PathLike, entries: Sequence[str], source: PathLike) -> List[Path]:
    """:func:`resolve_inside` of each entry."""
    return [resolve_inside(root, e, source) for e in entries]


class OutputLock:
    """Hold ``folder/.rsseg.lock`` while writing into ``folder``; another live writer makes entry fail.

    The lock file holds the holder's PID (named in the refusal); it is ``flock``-ed, so a lock left by a killed
    process is free again and taken over. Re-entrant within a process.

    Raises (on entry):
        FolderBusyError: Another process is writing into ``folder``.
    """

    def __init__(self, folder: PathLike, what: str = 'output folder') -> None:
        self.folder, self.what = Path(folder), what
        self.path = self.folder / LOCK_NAME

    def __enter__(self) -> 'OutputLock':
        self.folder.mkdir(parents=True, exist_ok=True)
        key = self.path.resolve()
        if key in _HELD:
            fd, depth = _HELD[key]
            _HELD[key] = (fd, depth + 1)
            return self
        _HELD[key] = (self._acquire(), 1)
        return self

    def _acquire(self) -> int:
        """Lock the file (retrying if a releasing holder unlinked it meanwhile); returns its descriptor."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors='replace').strip() or '?'
                os.close(fd)
                raise FolderBusyError(f'{self.what} {self.folder} is being written by another rsseg process '
                                      f'(pid {holder}, lock file {self.path}); wait for it to finish or use '
                                      'another folder') from None
            if os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                os.ftruncate(fd, 0)
                os.write(fd, f'{os.getpid()}\n'.encode())
                return fd
            os.close(fd)  # unlinked by its previous holder after we opened it: lock the new file

    def __exit__(self, *exc: Any) -> None:
        key = self.path.resolve()
        fd, depth = _HELD[key]
        if depth > 1:
            _HELD[key] = (fd, depth - 1)
            return
        del _HELD[key]
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)


class FolderBusyError(RuntimeError):
    """Another process holds the :class:`OutputLock` of a folder."""

