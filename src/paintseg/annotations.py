"""Strokes to label masks: the painting operations of the app, replayable.

A stroke is a polyline in image-pixel coordinates drawn with a round brush of a
given width, with a class id (0 erases). The label mask of an image is the replay
of its operations in order, which makes undo exact and cheap.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field

import cv2
import numpy as np

SUBPIXEL_BITS = 4
#: The label of "ignore" strokes in a stroke mask: 0 is unlabelled, 1-254 are classes,
#: 255 marks regions to leave out (scale bars, text, damage) of training, of the
#: segmentation shown and exported, and of every statistic.
IGNORE = 255
#: The largest class id a stroke mask holds (255 is ``IGNORE``).
MAX_STROKE_ID = 254
#: The most classes one painting holds and one model tells apart: a few phases, not the
#: hundreds of grey levels of an image given as the strokes by mistake.
MAX_CLASSES = 64
#: The largest class id a model holds (its masks are 16-bit).
MAX_CLASS_ID = 65_535
IGNORE_COLOUR = "#9a9a9a"
#: The longest class name kept (names are shown in the page and in exported tables).
MAX_NAME_LENGTH = 60


@dataclass
class Stroke:
    """A brush stroke: points (x, y) in image pixels, brush width, class (0 = erase,
    ``IGNORE`` = leave the region out)."""

    points: np.ndarray
    width: float
    label: int

    @classmethod
    def from_dict(cls, data: dict) -> Stroke:
        """A stroke from the page's JSON (points, width, label), checked: a one-line error
        for anything malformed."""
        points = np.asarray(data.get("points", []), dtype=np.float64).reshape(-1, 2)
        width = float(data.get("width", 8))
        label = int(data.get("label", 0))
        if not np.isfinite(points).all() or not 0.5 <= width <= 2048 or not 0 <= label <= 255:
            raise ValueError("malformed stroke")
        return cls(points=points, width=width, label=label)


def draw_stroke(mask: np.ndarray, stroke: Stroke) -> np.ndarray:
    """Paint ``stroke`` into ``mask`` in place (class id, or 0 for the eraser).

    A pixel is painted when its centre lies within ``width / 2`` of the polyline,
    which is what a round brush of that width covers in the browser.
    """
    if len(stroke.points) == 0:
        return mask
    radius = stroke.width / 2
    h, w = mask.shape
    reach = int(np.ceil(radius)) + 1
    x0 = max(0, int(np.floor(stroke.points[:, 0].min())) - reach)
    y0 = max(0, int(np.floor(stroke.points[:, 1].min())) - reach)
    x1 = min(w, int(np.ceil(stroke.points[:, 0].max())) + reach + 1)
    y1 = min(h, int(np.ceil(stroke.points[:, 1].max())) + reach + 1)
    if x1 <= x0 or y1 <= y0:
        return mask  # entirely outside the image
    # the centre line, one pixel wide, on a window around the stroke
    line = np.ones((y1 - y0, x1 - x0), np.uint8)
    if len(stroke.points) == 1:  # a dab: its nearest pixel is the centre
        px, py = np.round(stroke.points[0] - [x0, y0]).astype(int)
        if not (0 <= py < line.shape[0] and 0 <= px < line.shape[1]):
            return mask
        line[py, px] = 0
    else:
        pts = np.round((stroke.points - [x0, y0]) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        cv2.polylines(line, [pts.reshape(-1, 1, 2)], False, 0, thickness=1,
                      lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    if line.all():  # the centre line misses the window entirely
        return mask
    distance = cv2.distanceTransform(line, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    window = mask[y0:y1, x0:x1]
    window[distance <= radius] = int(stroke.label)
    return mask


@dataclass
class StrokeHistory:
    """The painting operations on one image, replayable into its label mask."""

    shape: tuple[int, int]
    operations: list[tuple[str, object]] = field(default_factory=list)
    _mask: np.ndarray | None = None
    _counts: np.ndarray | None = None

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            self._mask = self.replay()
        return self._mask

    def counts(self) -> np.ndarray:
        """Pixels of each label 0..255 in the mask, remembered until the next change
        (the page asks after every stroke; a histogram of a 4096² mask takes 35 ms,
        NumPy's bincount or unique 140-220 ms)."""
        if self._counts is None:
            self._counts = label_counts(self.mask)
        return self._counts

    def replay(self) -> np.ndarray:
        """The mask the operations so far paint, redrawn from the first."""
        mask = np.zeros(self.shape, np.uint8)
        for kind, payload in self.operations:
            _apply(mask, kind, payload)
        return mask

    def push(self, kind: str, payload: object) -> None:
        """Apply an operation ('stroke', 'clear', 'delete-class', ...) and keep it for
        undo."""
        self.operations.append((kind, payload))
        _apply(self.mask, kind, payload)
        self._counts = None

    def undo(self) -> bool:
        """Take back the last operation; whether there was one."""
        if not self.operations:
            return False
        self.operations.pop()
        self._mask = self.replay()
        self._counts = None
        return True


def label_counts(mask: np.ndarray) -> np.ndarray:
    """Pixels of each value 0..255 of a uint8 mask, int64, exact at any size (OpenCV's
    histogram counts in float32, exact up to 2^24 per call: rows in blocks below it)."""
    rows = max(1, (1 << 24) // max(1, mask.shape[1]))
    total = np.zeros(256, np.int64)
    for top in range(0, mask.shape[0], rows):
        block = np.ascontiguousarray(mask[top:top + rows], dtype=np.uint8)
        total += cv2.calcHist([block], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    return total


def painted_rows(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a stroke mask with paint on them, stacked, with one blank row where
    rows were left out (so strokes that do not touch stay apart), and each stacked
    row's row in the mask (-1 for the blank ones). Strokes cover a small part of a
    large image: finding and grouping their pixels here instead of over the whole
    mask took 0.16 s less per training at 4096² (measured)."""
    painted = np.flatnonzero(mask.any(axis=1))
    if len(painted) == 0 or len(painted) == mask.shape[0]:
        return mask, np.arange(mask.shape[0])
    at = np.arange(len(painted)) + np.concatenate([[0], np.cumsum(np.diff(painted) > 1)])
    band = np.zeros((at[-1] + 1, mask.shape[1]), mask.dtype)
    band[at] = mask[painted]
    row_of = np.full(len(band), -1, np.int64)
    row_of[at] = painted
    return band, row_of


def _apply(mask: np.ndarray, kind: str, payload) -> None:
    if kind == "stroke":
        draw_stroke(mask, payload)
    elif kind == "clear":
        mask[:] = 0
    elif kind == "delete-class":
        mask[mask == int(payload)] = 0
    elif kind == "mask":  # imported strokes replace what was there
        mask[:] = payload
    else:
        raise ValueError(f"unknown operation {kind}")


def operations_to_json(operations: list[tuple[str, object]]) -> list[dict]:
    """The operations of a history as JSON-ready dicts (masks zlib-compressed, base64)."""
    out = []
    for kind, payload in operations:
        if kind == "stroke":
            out.append({"kind": kind, "label": int(payload.label), "width": float(payload.width),
                        "points": np.round(payload.points, 2).tolist()})
        elif kind == "delete-class":
            out.append({"kind": kind, "label": int(payload)})
        elif kind == "mask":
            mask = np.ascontiguousarray(payload, dtype=np.uint8)
            out.append({"kind": kind, "shape": list(mask.shape),
                        "zlib": base64.b64encode(zlib.compress(mask.tobytes(), 6)).decode()})
        else:
            out.append({"kind": kind})
    return out


def operations_from_json(items: list, shape: tuple[int, int]) -> list[tuple[str, object]]:
    """Operations from :func:`operations_to_json` output; ValueError when malformed."""
    if not isinstance(items, list):
        raise ValueError("operations must be a list")
    operations: list[tuple[str, object]] = []
    for item in items:
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "stroke":
            operations.append((kind, Stroke.from_dict(item)))
        elif kind == "clear":
            operations.append((kind, None))
        elif kind == "delete-class":
            operations.append((kind, int(item["label"])))
        elif kind == "mask":
            operations.append((kind, _mask_from_json(item, shape)))
        else:
            raise ValueError(f"unknown operation {kind!r}")
    return operations


def _mask_from_json(item: dict, shape: tuple[int, int]) -> np.ndarray:
    if tuple(item.get("shape", ())) != tuple(shape):
        raise ValueError("a stored mask does not match its image's size")
    size = int(shape[0]) * int(shape[1])
    data = zlib.decompressobj().decompress(base64.b64decode(item["zlib"]), size + 1)
    if len(data) != size:
        raise ValueError("a stored mask has the wrong number of pixels")
    return np.frombuffer(data, np.uint8).reshape(shape).copy()
