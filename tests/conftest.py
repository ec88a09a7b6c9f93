"""Shared fixtures: real data beside the repository, small demo images."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from paintseg.demo import make_stem_image, simulate_strokes

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# apps started by the tests autosave here, not in the user's data folder; removed at exit
if "PAINTSEG_DATA_DIR" not in os.environ:
    os.environ["PAINTSEG_DATA_DIR"] = tempfile.mkdtemp(prefix="paintseg-test-data-")
    atexit.register(shutil.rmtree, os.environ["PAINTSEG_DATA_DIR"], ignore_errors=True)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(*args: str, env: dict | None = None, port: int | None = None,
              ) -> tuple[subprocess.Popen, str]:
    """``paintseg app --no-browser ARGS`` in its own process; (process, address) once it
    answers. Stop it with ``terminate`` or kill it to test a crash."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "paintseg.cli", "app", "--port", str(port),
                             "--no-browser", *args], env=dict(os.environ, **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(160):
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.25)
    proc.kill()
    raise RuntimeError("the app did not start")


@pytest.fixture(scope="module")
def server():
    """The app on the bundled demo, for the browser tests of a module."""
    proc, url = start_app()
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium driven by Playwright (skips when it is not installed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def shared(*parts: str) -> Path:
    """A file of the shared real-data folder; skips the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(scope="session")
def demo256():
    demo = make_stem_image(256, seed=5)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=5)
    return demo, strokes


def mean_iou(pred: np.ndarray, truth: np.ndarray) -> float:
    ious = []
    for k in np.unique(truth):
        union = ((pred == k) | (truth == k)).sum()
        ious.append(((pred == k) & (truth == k)).sum() / union)
    return float(np.mean(ious))
