"""FeatureSpec: a declarative, JSON-serialisable description of a filter bank.

A spec maps each filter family to the scales it is computed at (a Gaussian sigma in
pixels for most families, a wavelength in pixels for the Gabor / lattice families).
It travels inside every model file, so a model always recomputes exactly the
features it was trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import PaintsegError

SPEC_VERSION = 1

#: Filter families, in the order their channels appear in the feature stack.
FILTER_FAMILIES: tuple[str, ...] = (
    "intensity",
    "gaussian",
    "gradient",
    "sobel",
    "laplacian",
    "dog",
    "hessian",
    "structure",
    "mean",
    "variance",
    "min",
    "max",
    "median",
    "entropy",
    "gabor",
    "lattice",
    "symmetry",
)

#: Families whose scales are wavelengths in pixels rather than Gaussian sigmas.
WAVELENGTH_FAMILIES = frozenset({"gabor", "lattice", "symmetry"})


@dataclass(frozen=True)
class FeatureSpec:
    """Which filters, at which scales, make the per-pixel feature vector.

    Parameters
    ----------
    filters
        Mapping of family name (see ``FILTER_FAMILIES``) to a tuple of scales.
        ``intensity`` takes no scale: give it ``()``.
    orientations
        Number of orientations for the Gabor and lattice families.
    name
        Preset name this spec came from, or ``"custom"``.
    """

    filters: dict[str, tuple[float, ...]] = field(default_factory=dict)
    orientations: int = 6
    name: str = "custom"

    def __post_init__(self) -> None:
        clean: dict[str, tuple[float, ...]] = {}
        for family in FILTER_FAMILIES:
            if family not in self.filters:
                continue
            scales = tuple(sorted({float(s) for s in self.filters[family]}))
            if family != "intensity" and not scales:
                continue
            if any(s <= 0 or s > 256 for s in scales):
                raise PaintsegError(f"scales of filter '{family}' must lie in (0, 256]")
            clean[family] = scales
        unknown = set(self.filters) - set(FILTER_FAMILIES)
        if unknown:
            raise PaintsegError(
                f"unknown filter {sorted(unknown)[0]!r}; known: {', '.join(FILTER_FAMILIES)}"
            )
        if not clean:
            raise PaintsegError("a feature spec needs at least one filter")
        if not 1 <= int(self.orientations) <= 32:
            raise PaintsegError("orientations must be between 1 and 32")
        object.__setattr__(self, "filters", clean)
        object.__setattr__(self, "orientations", int(self.orientations))

    # -- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "name": self.name,
            "orientations": self.orientations,
            "filters": {k: list(v) for k, v in self.filters.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        if not isinstance(data, dict) or "filters" not in data:
            raise PaintsegError("not a feature spec: missing 'filters'")
        if int(data.get("version", SPEC_VERSION)) > SPEC_VERSION:
            raise PaintsegError("feature spec written by a newer paintseg; please upgrade")
        return cls(
            filters={k: tuple(v) for k, v in data["filters"].items()},
            orientations=int(data.get("orientations", 6)),
            name=str(data.get("name", "custom")),
        )

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        return cls.from_dict(json.loads(text))

    # -- geometry ------------------------------------------------------------------
    @property
    def halo(self) -> int:
        """Pixels of context each output pixel depends on (for tiled computation)."""
        reach = 0.0
        for family, scales in self.filters.items():
            if not scales:
                continue
            s = max(scales)
            if family in WAVELENGTH_FAMILIES:
                reach = max(reach, 4.0 * s)
            elif family in ("dog", "structure"):
                reach = max(reach, 4.0 * 2.0 * s)
            else:
                reach = max(reach, 4.0 * s)
        return int(reach) + 2

    def channel_names(self) -> list[str]:
        """Name of every channel of the feature stack, in order."""
        from .filters import channel_names

        return channel_names(self)

    @property
    def n_features(self) -> int:
        return len(self.channel_names())


PRESETS: dict[str, FeatureSpec] = {
    # ilastik's six default filters at its seven scales (0.3 .. 10).
    "ilastik": FeatureSpec(
        name="ilastik",
        filters={
            "gaussian": (0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0),
            "laplacian": (0.7, 1.0, 1.6, 3.5, 5.0, 10.0),
            "gradient": (0.7, 1.0, 1.6, 3.5, 5.0, 10.0),
            "dog": (0.7, 1.0, 1.6, 3.5, 5.0, 10.0),
            "structure": (0.7, 1.0, 1.6, 3.5, 5.0, 10.0),
            "hessian": (0.7, 1.0, 1.6, 3.5, 5.0, 10.0),
        },
    ),
    # Trainable Weka Segmentation defaults: sigma 1..16.
    "weka": FeatureSpec(
        name="weka",
        filters={
            "intensity": (),
            "gaussian": (1, 2, 4, 8, 16),
            "sobel": (1, 2, 4, 8, 16),
            "hessian": (1, 2, 4, 8, 16),
            "dog": (1, 2, 4, 8),
            "mean": (1, 2, 4, 8, 16),
            "variance": (1, 2, 4, 8, 16),
            "min": (1, 2, 4, 8, 16),
            "max": (1, 2, 4, 8, 16),
            "median": (1, 2, 4, 8, 16),
        },
    ),
    # The default: multiscale intensity/edge/blob features plus lattice texture
    # energies, for atomic-resolution and textured images.
    "stem": FeatureSpec(
        name="stem",
        filters={
            "gaussian": (2, 8),
            "gradient": (2,),
            "variance": (4, 8),
            "lattice": (4, 6, 9, 14, 21),
            "symmetry": (4, 6),
        },
    ),
}


def resolve_spec(features: str | FeatureSpec | dict) -> FeatureSpec:
    """Turn a preset name, a dict or a FeatureSpec into a FeatureSpec."""
    if isinstance(features, FeatureSpec):
        return features
    if isinstance(features, dict):
        return FeatureSpec.from_dict(features)
    if isinstance(features, str):
        key = features.strip().lower()
        if key in PRESETS:
            return PRESETS[key]
        raise PaintsegError(
            f"unknown feature preset {features!r}; choose one of: {', '.join(PRESETS)}"
        )
    raise PaintsegError(f"features must be a preset name or a FeatureSpec, not {type(features)}")
