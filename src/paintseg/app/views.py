"""What the page shows of a session: the addresses of its pictures (and of a live
preview of the part on screen), the class list with its counts and fractions, the
image's size line and the training status line: what the server's and the painting
panel's callbacks build their outputs from."""

from __future__ import annotations

import hashlib

import numpy as np
from dash import html

from ..errors import PaintsegError
from .state import Session

MAX_PREVIEW_STEP = 16  # live previews sample at least every 16th pixel
PREVIEW_PIXELS = 300_000  # a live preview predicts at most about this many pixels


def parse_view(box: str | None, step: str | None) -> tuple[tuple[int, int, int, int], int]:
    """'r0,c0,r1,c1' and 's' from a picture address; PaintsegError when malformed."""
    try:
        r0, c0, r1, c1 = (int(v) for v in (box or "").split(","))
        step = int(step or 1)
    except ValueError:
        raise PaintsegError("malformed preview address") from None
    if not (0 <= r0 < r1 and 0 <= c0 < c1 and 1 <= step <= MAX_PREVIEW_STEP):
        raise PaintsegError("malformed preview address")
    return (r0, c0, r1, c1), step


def view_of(session: Session, view) -> tuple[tuple[int, int, int, int], int] | None:
    """The part of the current image the page shows, and the step that samples it at
    about screen resolution, from the page's ``{box: [x0, y0, x1, y1], scale}``."""
    if not isinstance(view, dict) or not session.images:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in view["box"])
        scale = float(view["scale"])
    except (KeyError, TypeError, ValueError):
        return None
    h, w = session.entry().shape
    r0, c0 = max(0, int(y0)), max(0, int(x0))
    r1, c1 = min(h, int(np.ceil(y1)) + 1), min(w, int(np.ceil(x1)) + 1)
    if r1 <= r0 or c1 <= c0 or not scale > 0:
        return None
    # about screen resolution, and never more than PREVIEW_PIXELS: a bounded cost
    step = max(np.ceil(1 / scale), np.ceil(np.sqrt((r1 - r0) * (c1 - c0) / PREVIEW_PIXELS)))
    return (r0, c0, r1, c1), int(min(MAX_PREVIEW_STEP, max(1, step)))


def picture_urls(session: Session, probability_class=None, view=None,
                  ) -> tuple[dict | None, dict | None]:
    """The image-info and overlay stores for the session's current image; with
    ``view`` (box, step) the overlay also names a preview of that part to draw first."""
    if not session.images:
        return None, None
    entry = session.entry()
    colour_key = hashlib.md5(repr(sorted(session.colours().items())).encode()).hexdigest()[:8]
    base = f"/pictures/{session.id}/{entry.uid}"
    image = entry.image
    info = {
        "key": entry.uid, "width": int(entry.shape[1]), "height": int(entry.shape[0]),
        "image_url": f"{base}/image.png",
        "labels_url": f"{base}/labels.png?v={entry.version}-{colour_key}",
        "pixel_size_nm": image.pixel_size_nm,
    }
    overlay = None
    if session.model is not None:
        v = f"?v={session.model_version}-{colour_key}"
        overlay = {"segmentation_url": f"{base}/segmentation.png{v}",
                   "uncertainty_url": f"{base}/uncertainty.png{v}",
                   "suggestions_url": f"{base}/suggestions.json{v}"}
        classes = list(map(int, session.model.classes_))
        k = int(probability_class) if probability_class in classes else classes[0]
        overlay["probability_url"] = f"{base}/probability-{k}.png{v}"
        if view is not None:
            (r0, c0, r1, c1), step = view
            q = f"{v}&box={r0},{c0},{r1},{c1}&step={step}"
            overlay["preview"] = {
                "box": [r0, c0, r1, c1],
                "segmentation_url": f"{base}/preview-segmentation.png{q}",
                "uncertainty_url": f"{base}/preview-uncertainty.png{q}",
                "probability_url": f"{base}/preview-probability-{k}.png{q}"}
    return info, overlay


def class_options(session: Session) -> list[dict]:
    """The class list's options: swatch, name, painted pixels and, once segmented, the
    area fraction of each class."""
    counts = session.pixel_counts()
    fractions = session.phase_fractions()
    options = []
    for c in session.classes:
        parts = [html.Span(className="swatch", style={"background": c.colour}),
                 html.Span(c.name, className="class-name"),
                 html.Span(f"{counts.get(c.id, 0):,} px", className="class-count",
                           title="painted pixels")]
        if c.id in fractions:
            parts.append(html.Span(f"{100 * fractions[c.id]:.1f} %", className="class-fraction",
                                   title="area fraction in the segmentation of this image"))
        options.append({"label": html.Span(parts, className="class-label"), "value": c.id})
    return options


def image_meta(session: Session) -> str:
    """The current image's size line: width × height, and the pixel size when known."""
    if not session.images:
        return ""
    image = session.entry().image
    h, w = image.shape
    size = f"{w} × {h} px"
    if image.pixel_size is not None:
        size += f" · {image.pixel_size:.4g} {image.unit}/px"
    return size


def train_status(summary: dict):
    """The line under Train: what the model was trained on, and its accuracy estimate."""
    pixels = sum(summary["labelled_pixels"].values())
    trained = (f"Trained on {pixels:,} pixels, {len(summary['labelled_pixels'])} classes, "
               f"{summary['n_features']} features, in {summary['seconds']:.2f} s")
    accuracy = summary.get("accuracy_text")
    if not accuracy:
        return trained
    return [trained, html.Div(accuracy[:1].upper() + accuracy[1:] + ".", id="accuracy-estimate",
                              className="accuracy-estimate",
                              title="held out whole strokes in turn, and read the model's "
                                    "own probabilities over the image; no ground truth")]
