"""The app's worker processes (``paintseg.app.compute``): real spawned processes."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from paintseg import Segmenter
from paintseg.app.compute import Workers, fit_segmenter, predict_proba
from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.errors import PaintsegError
from paintseg.io import Image


def worker_pid_and_niceness() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def die() -> None:
    os._exit(3)


def pause(seconds: float) -> int:
    import time

    time.sleep(seconds)
    return os.getpid()


@pytest.fixture(scope="module")
def workers():
    pool = Workers(processes=2)
    yield pool
    pool.close()


def test_training_in_a_worker_gives_the_same_model(workers):
    demo = make_stem_image(256, seed=0)
    strokes = simulate_strokes(demo.truth, grains=demo.grains)
    image = Image(demo.image, demo.pixel_size_nm, "nm", "demo.tif")
    here = Segmenter(estimate=False).fit([image], [strokes])
    there, proba = workers.run("a", fit_segmenter, Segmenter(estimate=False),
                               [image], [strokes], image)
    assert there.period_nm_ is not None and there.period_nm_ == here.period_nm_
    assert proba.shape == (256, 256, len(here.classes_))
    np.testing.assert_allclose(proba, here.predict_proba(demo.image), atol=1e-6)
    np.testing.assert_allclose(workers.run("a", predict_proba, there, demo.image), proba, atol=1e-6)


def test_workers_run_at_lower_priority_and_keys_stick(workers):
    pid_a, nice_a = workers.run("a", worker_pid_and_niceness)
    pid_b, _ = workers.run("b", worker_pid_and_niceness)
    assert pid_a != os.getpid() and nice_a > os.nice(0)
    assert pid_b != pid_a  # a new key goes to the worker with fewer keys
    assert workers.run("a", worker_pid_and_niceness)[0] == pid_a  # and stays there


def test_a_key_moves_from_a_busy_worker_unless_it_warms_up_there():
    from concurrent.futures import ThreadPoolExecutor

    pool = Workers(processes=2)
    try:
        home, _ = pool.run("d", worker_pid_and_niceness)  # d on the first worker,
        elsewhere, _ = pool.run("e", worker_pid_and_niceness)  # e on the second
        with ThreadPoolExecutor(1) as threads:
            busy = threads.submit(pool.run, "d", pause, 1.0)  # d's last overlay, say
            time.sleep(0.3)
            assert pool.run("d", worker_pid_and_niceness)[0] == elsewhere  # not waiting
            assert busy.result() == home
        assert pool.run("d", worker_pid_and_niceness)[0] == elsewhere  # and staying there
        with ThreadPoolExecutor(1) as threads:
            warming = threads.submit(pool.run, "d", pause, 1.0, warm_up=True)
            time.sleep(0.3)
            assert pool.run("d", worker_pid_and_niceness)[0] == elsewhere  # waits for it
            assert warming.result() == elsewhere
    finally:
        pool.close()


def test_a_worker_that_dies_is_a_message_and_is_replaced(workers):
    pid_before, _ = workers.run("c", worker_pid_and_niceness)
    with pytest.raises(PaintsegError, match="worker process stopped"):
        workers.run("c", die)
    pid_after, _ = workers.run("c", worker_pid_and_niceness)
    assert pid_after != pid_before


def test_no_processes_runs_in_the_calling_process():
    assert Workers(processes=0).run("a", worker_pid_and_niceness)[0] == os.getpid()


def test_workers_end_with_a_killed_server():
    """A crashed server leaves no worker processes behind."""
    import signal
    import time

    import psutil
    from conftest import start_app

    proc, _ = start_app("--processes", "2")
    try:
        deadline = time.monotonic() + 60
        while len(children := _spawned(psutil.Process(proc.pid))) < 2:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, alive


def _spawned(process) -> list:
    return [c for c in process.children(recursive=True)
            if "spawn_main" in " ".join(c.cmdline())]
