"""paintseg in a Jupyter notebook: the app inline, its results back in Python.

``paintseg.notebook(image)`` serves the same app as ``paintseg app`` (the same
``create_app`` factory and waitress server) from a background thread on
127.0.0.1, shows one session of it in an inline frame, and returns a
``NotebookApp`` that reads that session live: paint and train in the frame, then
take ``.strokes``, ``.mask`` and ``.segmenter`` into code. Outside Jupyter (a plain
Python shell) it prints the address to open in a browser instead.

The frame loads ``http://127.0.0.1:<port>/`` in the browser, so the browser must
reach the kernel's machine on that port (a local JupyterLab, or a forwarded port).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Sequence

import numpy as np

HOST = "127.0.0.1"


class NotebookApp:
    """A running app and its one session: the page in a frame, the results as arrays.

    ``strokes`` (one (H, W) uint8 label mask per image, 0 = unpainted), ``mask`` (the
    segmentation of the image shown, or None before training), ``masks`` (of every
    image), ``segmenter`` (the trained ``Segmenter``, or None) are read at each access,
    so they follow what is painted in the page. ``stop()`` ends the server.
    """

    def __init__(self, app, server, session, height: int = 760) -> None:
        self._app, self._server, self._session = app, server, session
        self.height = height
        self._thread = threading.Thread(target=server.run, name="paintseg-notebook", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The page of this handle's session."""
        return f"http://{HOST}:{self._server.effective_port}/?session={self._session.id}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def images(self) -> list[np.ndarray]:
        """The open images (``io.Image``: float32 with pixel size), as in the page."""
        with self._session.lock:
            return [entry.image for entry in self._session.images]

    @property
    def strokes(self) -> list[np.ndarray]:
        """A copy of each image's painted label mask, (H, W) uint8, 0 = unpainted."""
        with self._session.lock:
            return [entry.history.mask.astype(np.uint8, copy=True) for entry in self._session.images]

    @property
    def segmenter(self):
        """The model trained (or imported) in the page, a ``Segmenter``, or None."""
        return self._session.model

    @property
    def mask(self) -> np.ndarray | None:
        """The segmentation (class ids) of the image shown in the page, or None."""
        result = self._session.result()
        return None if result is None else result.labels.copy()

    @property
    def masks(self) -> list[np.ndarray] | None:
        """The segmentation of every open image, or None before a model exists."""
        if self._session.model is None:
            return None
        return [self._session.result(i).labels.copy() for i in range(len(self._session.images))]

    @property
    def class_names(self) -> dict[int, str]:
        """Class id -> name, as named in the page."""
        with self._session.lock:
            return {c.id: c.name for c in self._session.classes}

    def stop(self) -> None:
        """Stop serving the page (the results stay readable)."""
        if not self.running:
            return
        server = self._server
        server.trigger.pull_trigger(lambda: _close_everything(server))  # in the server's thread
        self._thread.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=5)

    def show(self) -> None:
        """Show the page in the notebook (again), or print its address outside Jupyter."""
        if _in_jupyter():
            from IPython.display import IFrame, display

            display(IFrame(self.url, width="100%", height=self.height))
        else:
            print(f"paintseg is running at {self.url}", flush=True)

    def _summary(self) -> str:
        painted = {int(k) for s in self.strokes for k in np.unique(s) if k}
        model = "no model yet" if self.segmenter is None else "model trained"
        state = "running" if self.running else "stopped"
        return (f"paintseg {state} at {self.url}: {len(self.images)} image(s), "
                f"{len(painted)} class(es) painted, {model}")

    def __repr__(self) -> str:
        return f"<NotebookApp {self._summary()}>"

    def _repr_html_(self) -> str:
        link = f'<a href="{self.url}" target="_blank">{self.url}</a>'
        return f"<p>{self._summary().replace(self.url, link)}</p>"


def _close_everything(server) -> None:
    """Run in the server's own thread: close the open connections (keep-alive pages),
    the listening socket and the wake-up trigger; its loop then has nothing left and
    returns. (Closing them from another thread races with the loop's select.)"""
    for channel in list(server._map.values()):
        if channel is not server and channel is not server.trigger:
            channel.close()
    server.close()


def _in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (IPython is only looked at if loaded)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def notebook(images=None, *, port: int = 0, height: int = 760, show: bool = True) -> NotebookApp:
    """Open the paintseg app on ``images`` inline in Jupyter; returns a ``NotebookApp``.

    ``images``: one image or a list, each a path, a NumPy array, an ``io.Image`` or a
    HyperSpy Signal2D (its calibration is kept); None opens the bundled demo image.
    ``port`` 0 takes any free port. ``show`` displays the page now (outside Jupyter
    it prints the address).
    """
    from .app import wsgi_server
    from .app.server import create_app

    app = create_app(_as_list(images))
    session = app.paintseg_store.new()
    handle = NotebookApp(app, wsgi_server(app, HOST, port, threads=4), session, height)
    if show:
        handle.show()
    return handle


def _as_list(images) -> Sequence:
    """None, one image, or a list/tuple of images -> a list for ``create_app``."""
    if images is None:
        return []
    return list(images) if isinstance(images, list | tuple) else [images]


class _CallableModule(types.ModuleType):
    """``import paintseg.notebook`` binds this module to the name ``paintseg.notebook``;
    calling it calls ``notebook()``, so ``paintseg.notebook(image)`` works either way."""

    def __call__(self, *args, **kwargs) -> NotebookApp:
        return notebook(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
