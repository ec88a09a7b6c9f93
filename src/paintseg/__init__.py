"""paintseg: scribble-based segmentation of scientific images.

Paint a few strokes per class, compute a filter bank per pixel, train a
classifier on the painted pixels and segment the whole image.
"""

__version__ = "0.1.0"

from .errors import PaintsegError  # noqa: E402
from .features import FeatureSpec, compute_features  # noqa: E402
from .io import Image, read_image  # noqa: E402
from .segmenter import Segmenter  # noqa: E402

__all__ = ["FeatureSpec", "Image", "PaintsegError", "Segmenter", "compute_features", "read_image",
           "__version__"]
