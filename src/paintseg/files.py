"""File-system helpers every layer needs: writes that never leave a half-written file.

A reader (another process, a restarted server, a user's file browser) sees either the
old file or the new one, never a partial write: the data goes to a temporary file in
the same folder, is flushed to disk, and is renamed over the target.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import PaintsegError


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers never see a half-written file."""
    path = Path(path)
    if path.is_dir():
        raise PaintsegError(f"{path} is a folder: give a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def replaced_on_success(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` to write a file or a folder into as it is made
    (a mask streamed tile by tile, a Zarr store); it replaces ``target`` only when the
    block succeeds and is removed otherwise, so nothing half-written looks complete.
    A folder already at ``target`` is moved aside before the new one takes its place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
    part = tmp / target.name
    try:
        yield part
        if target.is_dir() and not target.is_symlink():
            os.replace(target, tmp / "replaced")
        os.replace(part, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
