"""Class colours: one palette for the app's overlays, saved masks and reports.

Lives below every other module so that io (palette PNG masks), the segmenter
(model colours) and the app share it.
"""

from __future__ import annotations

DEFAULT_COLOURS = (
    "#e4572e", "#29a5d6", "#f3c623", "#76b041", "#8e6cef",
    "#ff8fab", "#17bebb", "#b56b45", "#7d8491", "#2e294e",
)


def default_colour(k: int) -> str:
    """The colour of class ``k`` (1-based; the palette repeats after ten classes)."""
    return DEFAULT_COLOURS[(int(k) - 1) % len(DEFAULT_COLOURS)]


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    colour = colour.lstrip("#")
    return tuple(int(colour[i: i + 2], 16) for i in (0, 2, 4))


def palette(colours: dict[int, str] | None = None) -> list[int]:
    """A 256-entry RGB palette (flat list) for class ids: 0 black, k its colour."""
    flat = [0, 0, 0]
    for k in range(1, 256):
        flat += hex_to_rgb((colours or {}).get(k) or default_colour(k))
    return flat
