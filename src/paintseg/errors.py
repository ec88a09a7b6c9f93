"""The one exception type that every user-facing error of paintseg raises.

Its message is a single line meant for people: the CLI prints it and exits with a
non-zero status, the app shows it in the page.
"""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class PaintsegError(ValueError):
    """A problem with the user's input (file, mask, model, option)."""


def size_text(shape) -> str:
    """An array's size as messages name it: width x height, as image sizes are written
    ("1024x768" for 768 rows of 1024 pixels); any other number of axes as a shape."""
    dims = tuple(int(n) for n in shape)
    if len(dims) == 2:
        return f"{dims[1]}x{dims[0]}"
    return f"an array of shape {dims}"


class PaintsegWarning(UserWarning):
    """Something the user should know about a result that still went ahead."""


_NOTES: ContextVar[list[str] | None] = ContextVar("paintseg_notes", default=None)


def note(message: str, stacklevel: int = 1) -> None:
    """Tell the user something about a result that still went ahead: into the notes
    this thread is collecting (``collecting_notes``: the app shows them beside what it
    opened), else as a ``PaintsegWarning`` (the command line prints it)."""
    notes = _NOTES.get()
    if notes is not None:
        notes.append(message)
    else:
        warnings.warn(message, PaintsegWarning, stacklevel=stacklevel + 1)


@contextmanager
def collecting_notes() -> Iterator[list[str]]:
    """The notes (``note``) given in this thread within the block, instead of warnings.
    A context variable, so a server's threads each keep their own, unlike
    ``warnings.catch_warnings``, which changes the whole process's state."""
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def require_extra(module: str, extra: str, purpose: str):
    """Import an optional dependency, or raise a one-line ``PaintsegError`` naming the
    extra that installs it: a missing part is said, never silently replaced."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:  # the module, or one it needs (tpot needs xgboost)
        missing = (exc.name or module).split(".")[0]
        raise PaintsegError(f"{purpose} needs {missing}, which is not installed: "
                            f"pip install 'paintseg[{extra}]'") from None
