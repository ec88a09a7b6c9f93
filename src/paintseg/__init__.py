"""paintseg: scribble-based segmentation of scientific images.

Paint a few strokes per class, compute a filter bank per pixel, train a
classifier on the painted pixels and segment the whole image.

The public names are imported on first use, so that ``paintseg --help`` and
other light uses do not pay for scikit-learn and OpenCV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "PaintsegError": "errors",
    "FeatureSpec": "features",
    "compute_features": "features",
    "Image": "io",
    "read_image": "io",
    "Segmenter": "segmenter",
    "notebook": "notebook",
}

__all__ = ["FeatureSpec", "Image", "PaintsegError", "Segmenter", "compute_features", "notebook",
           "read_image", "__version__"]

if TYPE_CHECKING:
    from .errors import PaintsegError
    from .features import FeatureSpec, compute_features
    from .io import Image, read_image
    from .notebook import notebook
    from .segmenter import Segmenter


#: Submodules reachable as attributes of the package (``paintseg.io.read_mask``).
_SUBMODULES = {"io", "features", "segmenter", "tiles", "batch", "analysis", "guidance"}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'paintseg' has no attribute {name!r}")
