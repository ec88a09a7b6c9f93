"""The one exception type that every user-facing error of paintseg raises.

Its message is a single line meant for people: the CLI prints it and exits with a
non-zero status, the app shows it in the page.
"""


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
