"""``paintseg app`` in its own process for the benchmarks.

The server runs on loopback at a free port (or the one given), with its sessions
autosaved to a temporary folder away from the user's data, and is stopped when the
``with`` block ends. Its error output goes to a file in that folder, not a pipe that
nobody reads and that a long run could fill.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(*args: str, port: int | None = None, seconds: float = 120) -> Iterator[str]:
    """``paintseg app ARGS --no-browser`` until the block ends; yields its address
    (``http://127.0.0.1:PORT``, no trailing slash) once its callbacks answer."""
    with tempfile.TemporaryDirectory(prefix="paintseg-bench-") as data_dir:
        port = port or free_port()
        errors = Path(data_dir) / "stderr.txt"
        with errors.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "paintseg.cli", "app", *args, "--port", str(port),
                 "--no-browser"], env=dict(os.environ, PAINTSEG_DATA_DIR=data_dir),
                stdout=subprocess.DEVNULL, stderr=err)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, proc, errors, seconds)
            yield url
        finally:
            proc.terminate()
            proc.wait(20)


def _wait_until_up(url: str, proc: subprocess.Popen, errors: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_dash-dependencies", timeout=2)
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(errors.read_text(errors="replace")[-2000:]) from None
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer in {seconds:g} s")
