"""Several sessions at once on the real server: each gets its own result, nothing fails.

A bounded version of ``benchmarks/bench_load.py`` (which measures the timings): four
sessions over loopback HTTP paint the demo's three phases with four different class
layouts, train at once, switch layers and paint while the others train, and export
their masks. Latency is only checked loosely here; the figures are in
benchmarks/RESULTS.md ("Under load").
"""

from __future__ import annotations

import os
import socket
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_load import PERMUTATIONS, run_load  # noqa: E402
from serving import running_app  # noqa: E402

pytestmark = pytest.mark.slow
SESSIONS = 4


def _port() -> int:
    if os.environ.get("PAINTSEG_LOAD_PORT"):
        return int(os.environ["PAINTSEG_LOAD_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def load_run():
    with running_app("--processes", "2", port=_port()) as url:
        yield run_load(url, SESSIONS, per_class=2, min_switches=3)


def test_no_request_fails(load_run):
    recorder = load_run["recorder"]
    assert not load_run["errors"] and not recorder.failures, (load_run["errors"], recorder.failures)
    kinds = {kind for kind, *_ in recorder.samples}
    assert {"open", "paint", "train", "layer callback", "layer picture", "export"} <= kinds
    assert len(recorder.latencies("paint", busy_only=False)) >= SESSIONS * (3 * 2 + 3)  # acknowledged


def test_every_session_gets_its_own_result(load_run):
    """Each mask follows its own session's class layout, not another's (no cross-talk)."""
    for page in load_run["pages"]:
        own = page.agreement()
        others = [page.agreement(j) for j in range(SESSIONS)
                  if PERMUTATIONS[j] != PERMUTATIONS[page.index % len(PERMUTATIONS)]]
        assert page.mask is not None and page.mask.shape == page.truth.shape
        assert own > 0.75, own
        assert own > max(others) + 0.05, (own, others)


def test_concurrent_training_is_no_slower_than_serial(load_run):
    """No training at once takes longer than all of them one after another (loosely:
    the machine is shared)."""
    assert len(load_run["concurrent"]) == SESSIONS
    # Measured 1.17-1.61 on 2 cores: each training here is 0.4-0.6 s alone, so the
    # requests of four pages and a session's move to the idle worker (its features
    # computed there once) weigh. Workers that recomputed features at every training,
    # or a session stalled behind another's queue, go beyond this bound.
    assert max(load_run["concurrent"]) < 2.0 * sum(load_run["serial"])


def test_painting_answers_while_others_train(load_run):
    """Loose: painting stays interactive (seconds, not a training's length) under load."""
    recorder = load_run["recorder"]
    assert len(recorder.latencies("paint")) > 0  # some strokes did arrive during trainings
    assert recorder.latencies("paint", busy_only=False).max() < 5.0
