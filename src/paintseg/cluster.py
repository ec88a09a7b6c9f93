"""Connecting to a Dask cluster, or starting a local one, for the batch run and the
AutoML search alike.

One place says what a scheduler address is and turns every way of failing to reach it
(not an address, nothing listening, no workers) into one line for the user; the two
callers differ only in how long they wait.
"""

from __future__ import annotations

import numbers

from .errors import PaintsegError

#: Seconds to wait for a scheduler to answer.
SCHEDULER_TIMEOUT_S = 10


def connect_scheduler(address: str, *, timeout_s: float = SCHEDULER_TIMEOUT_S,
                      need_workers: bool = False):
    """A ``distributed.Client`` of the running scheduler at ``address``
    (``tcp://host:port``), or a one-line ``PaintsegError``."""
    from distributed import Client

    try:
        client = Client(address, timeout=f"{timeout_s:g}s")
    except ValueError as exc:  # not an address at all
        raise PaintsegError(f"'{address}' is not a Dask scheduler address (tcp://host:port): "
                            f"{exc}") from None
    except (OSError, TimeoutError) as exc:
        raise PaintsegError(f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s "
                            f"({exc.__class__.__name__})") from None
    if need_workers and not client.scheduler_info().get("workers"):
        client.close()
        raise PaintsegError(f"the Dask scheduler at {address} has no workers")
    return client


def local_cluster(n_workers: int, *, quiet: bool = False):
    """A ``(client, cluster)`` of ``n_workers`` local worker processes of one thread each
    (the features and forests are single-threaded per pixel block), with no dashboard;
    ``quiet`` leaves out the workers' log below critical (the AutoML search's many
    short-lived pipelines)."""
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=check_workers(n_workers), threads_per_worker=1,
                           processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL if quiet else logging.WARNING)
    return Client(cluster), cluster


def check_workers(n_workers: int) -> int:
    """A number of local worker processes, at least one."""
    if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Integral) or n_workers < 1:
        raise PaintsegError(f"the number of workers must be a whole number of at least 1, "
                            f"not {n_workers!r}")
    return int(n_workers)
