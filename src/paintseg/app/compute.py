"""Where the app's heavy work runs: a few worker processes at a lower CPU priority.

Training, whole-image prediction and live previews need the image's feature stack
and seconds of CPU. Run in the server's own threads they compete with every page's
painting and layer switching for the GIL and the cores: with ten sessions training
at once on two cores, a stroke waited 0.3 s (p95) for its acknowledgement. In
``Workers`` they run in separate processes started with ``spawn`` (the server has
threads, and forking a threaded process is unsafe) and lowered in priority
(``nice``), so the operating system serves the pages first and trainings share what
is left.

Each key (a session id) sticks to one worker once placed: a worker keeps the feature
stacks it computed in its cache, so retraining after a new stroke and the live
preview after it do not recompute them (and the server holds none); a key moves
when its worker is busy and another is idle, unless its worker is warming up the
key's own features. Nothing here is specific to the app's state: the functions run in
the workers take and return plain arrays and estimators.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from ..errors import PaintsegError
from ..features import compute_features, tiling
from ..segmenter import Segmenter

WORKER_NICENESS = 10  # a worker yields the CPU to the server's request threads
PARENT_POLL_S = 0.5  # how often a worker checks that the server still runs


def default_processes() -> int:
    """One worker per core, at most four (each training uses every core it gets)."""
    return max(1, min(4, os.cpu_count() or 1))


def _start_worker(niceness: int, parent: int) -> None:
    """In each worker: lower its priority, and end it when the server is gone (killed
    servers leave their pool's processes behind otherwise)."""
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def _ready() -> None:
    """Nothing: submitted to start a worker (its imports happen on unpickling)."""


def fit_segmenter(seg: Segmenter, images: Sequence, masks: Sequence[np.ndarray],
                  predict=None, first_trees: int | None = None,
                  ) -> tuple[Segmenter, np.ndarray | None]:
    """Fit ``seg`` (only its ``first_trees`` trees when given, see ``Segmenter.fit``);
    with ``predict`` (an image), also its probabilities, while that image's features
    are still in this process's cache."""
    _keep_whole_stacks(seg, images, masks)
    seg.fit(images, masks, first_trees=first_trees)
    return seg, None if predict is None else seg.predict_proba(predict)


def _keep_whole_stacks(seg: Segmenter, images: Sequence, masks: Sequence[np.ndarray]) -> None:
    """Cache the whole feature stack of each large image under the spec ``seg`` trains
    with. The app retrains after each stroke: with the stack cached, a large image's
    training, preview and overlay read it (``features.tiling.by_tile``) instead of
    computing its tiles again every time, as a one-off prediction does."""
    large = [image for image in images if np.size(image) > tiling.LARGE_PIXELS]
    if large:  # the spec fit will choose (fit chooses it again: the estimates are cached)
        seg.fit_spec(images, masks)
    for image in large:
        compute_features(image, seg.spec_for(image))


def grow_segmenter(seg: Segmenter, images: Sequence, masks: Sequence[np.ndarray]) -> Segmenter:
    """Fit the trees a live training left for later (``Segmenter.grow``)."""
    return seg.grow(images, masks)


def warm_features(image, spec) -> None:
    """Compute an image's feature stack into this process's cache, ready for training.
    A large image's too: with its stack cached, each stroke's retraining, preview and
    overlay read it instead of computing tiles again (``features.tiling.by_tile``)."""
    compute_features(image, spec)


def predict_proba(seg: Segmenter, image) -> np.ndarray:
    """The fitted segmenter's (H, W, K) probabilities for ``image``."""
    return seg.predict_proba(image)


class Workers:
    """A fixed set of single-process pools, started on first use.

    ``processes=0`` runs everything in the calling thread instead (no pool).
    """

    def __init__(self, processes: int | None = None, niceness: int = WORKER_NICENESS) -> None:
        self.processes = default_processes() if processes is None else int(processes)
        self.niceness = niceness
        self._pools: list[ProcessPoolExecutor | None] = [None] * self.processes
        self._busy: list[list[tuple[str, bool]]] = [[] for _ in range(self.processes)]
        # ^ per worker, its jobs in flight: (key, warm-up?)
        self._placed: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(self, key: str, function: Callable, *args, warm_up: bool = False):
        """``function(*args)`` on the worker of ``key``; its result, or its exception.

        ``warm_up`` marks work that fills the worker's cache for the key (its feature
        stacks): the key's next work waits for it there instead of moving elsewhere.
        """
        if self.processes == 0:
            return function(*args)
        job = (key, warm_up)
        index, pool = self._acquire(job)
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pools[index] is pool:
                    self._pools[index] = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise PaintsegError("the worker process stopped (out of memory?): "
                                "try again, with fewer or smaller images") from None
        finally:
            with self._lock:
                self._busy[index].remove(job)

    def start(self) -> None:
        """Start every worker now (each imports the core, about 2 s) rather than at the
        first training, which would otherwise wait for it."""
        for index in range(self.processes):
            with self._lock:
                pool = self._pool(index)
            pool.submit(_ready)

    def _pool(self, index: int) -> ProcessPoolExecutor:
        if self._pools[index] is None:
            self._pools[index] = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(self.niceness, os.getpid()))
        return self._pools[index]

    def _acquire(self, job: tuple[str, bool]) -> tuple[int, ProcessPoolExecutor]:
        """The key's worker; a new key goes to the worker with the fewest keys, and a
        key whose worker is busy moves to an idle one, unless that worker is warming
        up the key's own features. Waiting costs more than recomputing features: the
        work in the way is often the key's own and obsolete (the full overlay of the
        previous stroke, when the next stroke's training comes), and after a move or
        two both workers hold the key's features."""
        key = job[0]
        with self._lock:
            index = self._placed.get(key)
            idle = [i for i in range(self.processes) if not self._busy[i]]
            warming = index is not None and (key, True) in self._busy[index]
            if index is None or (self._busy[index] and idle and not warming):
                load = list(self._placed.values())
                index = min(idle or range(self.processes), key=load.count)
                self._placed[key] = index
            pool = self._pool(index)
            self._busy[index].append(job)
            return index, pool

    def forget(self, key: str) -> None:
        """Let ``key`` be placed afresh next time (its session has left memory)."""
        with self._lock:
            self._placed.pop(key, None)

    def close(self) -> None:
        """Stop every worker process."""
        with self._lock:
            pools, self._pools = self._pools, [None] * self.processes
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
