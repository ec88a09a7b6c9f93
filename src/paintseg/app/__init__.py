"""The paintseg web app (Dash), served by waitress, a production WSGI server."""

from __future__ import annotations

import os
import signal
import sys
import threading
import webbrowser
from pathlib import Path

from ..errors import PaintsegError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def wsgi_server(app, host: str, port: int, threads: int = 8):
    """The waitress server of a Dash app built by ``server.create_app`` (port 0: any
    free port, see ``.effective_port``); ``paintseg app`` and the notebook both use it."""
    from waitress import create_server

    return create_server(app.server, host=host, port=port, threads=threads,
                         ident="paintseg", clear_untrusted_proxy_headers=True)


def default_data_dir() -> Path:
    """Where the app autosaves sessions: ``$PAINTSEG_DATA_DIR``, else the user's data
    folder (``$XDG_DATA_HOME/paintseg``, by default ``~/.local/share/paintseg``)."""
    if os.environ.get("PAINTSEG_DATA_DIR"):
        return Path(os.environ["PAINTSEG_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "paintseg"


def serve(images, host: str = "127.0.0.1", port: int = 8050, debug: bool = False,
          open_browser: bool = True, threads: int = 32, *, data_dir: Path | None = None,
          project_dir: Path | None = None, expire_hours: float | None = 24.0,
          processes: int | None = None) -> None:
    """Start the app on ``host:port`` with ``images`` (or the bundled demo) open.

    Every session is autosaved under ``data_dir`` (default :func:`default_data_dir`);
    with ``project_dir`` every page opens that project instead. Sessions idle for
    ``expire_hours`` leave memory (their folders stay). Prints one line with the
    address and, when asked and a person is at a terminal, opens it in the browser.
    ``debug`` runs Dash's development server instead. A training holds its request's
    thread for its whole length, so ``threads`` is well above the sessions that train
    at once: with 8, ten trainings left no thread for painting (2 s waits). Trainings
    run on ``processes`` lower-priority worker processes (0: in the request threads),
    so painting answers while others train; None: in the request threads on loopback
    (one person: no copying to a worker, no lower priority against their own
    browser), else one per core up to four (a lab server).
    """
    from .compute import default_processes
    from .server import create_app

    if processes is None:
        processes = 0 if host in LOOPBACK else default_processes()

    app = create_app(images, data_dir=data_dir or default_data_dir(), project_dir=project_dir,
                     expire_after=None if expire_hours is None else expire_hours * 3600,
                     processes=processes)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    try:
        if debug:
            app.run(host=host, port=port, debug=True)
        else:
            _serve_until_stopped(app, host, port, threads, url, open_browser)
    finally:  # the one place the worker processes are closed, however serving ended
        if app.paintseg_store.workers is not None:
            app.paintseg_store.workers.close()


def _serve_until_stopped(app, host: str, port: int, threads: int, url: str,
                         open_browser: bool) -> None:
    try:
        server = wsgi_server(app, host, port, threads)
    except (OSError, ValueError) as exc:  # port taken, no such host, not allowed
        detail = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
        raise PaintsegError(f"cannot serve on {host}:{port}: {detail}") from None
    print(f"paintseg is running at {url}  (Ctrl-C to stop)", flush=True)
    if host not in LOOPBACK:
        print(f"warning: serving on {host}: anyone who can reach this machine can open the app, "
              "and a session is only as private as its id", file=sys.stderr, flush=True)
    if open_browser and sys.stdout.isatty():
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops it as Ctrl-C does, workers included
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt
