"""The one exception type that every user-facing error of paintseg raises.

Its message is a single line meant for people: the CLI prints it and exits with a
non-zero status, the app shows it in the page.
"""


class PaintsegError(ValueError):
    """A problem with the user's input (file, mask, model, option)."""


class PaintsegWarning(UserWarning):
    """Something the user should know about a result that still went ahead."""
