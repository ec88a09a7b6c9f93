"""Messages shown in the page: one styled line, with the whole text as its tooltip.

Every panel's callbacks report through these, so errors look and read the same
everywhere (a ``PaintsegError`` says what to do; anything else is marked unexpected).
"""

from __future__ import annotations

from dash import html

from ..errors import PaintsegError


def message(text: str, kind: str = "info") -> html.Span:
    """A message of ``kind`` info, hint or error."""
    return html.Span(text, className=f"msg msg-{kind}", title=text)


def error(exc: Exception) -> html.Span:
    """An error message from an exception."""
    return message(str(exc) if isinstance(exc, PaintsegError) else f"unexpected error: {exc}",
                   "error")
