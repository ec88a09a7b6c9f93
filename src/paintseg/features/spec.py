"""FeatureSpec: a declarative, JSON-serialisable description of a filter bank.

A spec maps each filter family to the scales it is computed at (a Gaussian sigma in
pixels for most families, a wavelength for the Gabor / lattice / texture / symmetry families).
Wavelengths are in pixels, or, when the spec carries a lattice ``period``, in
multiples of that period: the same spec then follows the lattice from one
magnification to another (``with_period``). An *adaptive* spec (the ``auto`` and
``stem`` presets) is a template: ``adapt_to_lattice`` turns it into a concrete spec
once the image's period is known (``features.lattice``). A concrete spec travels
inside every model file, so a model always recomputes exactly the features it was
trained on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PaintsegError

SPEC_VERSION = 2
MAX_WAVELENGTH = 1024.0

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
    "texture",
    "symmetry",
    "relative",
)

#: Families whose scales are wavelengths in pixels rather than Gaussian sigmas.
WAVELENGTH_FAMILIES = frozenset({"gabor", "lattice", "texture", "symmetry"})


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
    period
        Lattice period in pixels. When set, the scales of the wavelength families
        (Gabor, lattice, texture, symmetry) are multiples of it; when None, pixels.
    adaptive
        A template whose wavelength families are chosen from the image's own
        lattice period (see ``adapt_to_lattice``); not computable as it stands.
    """

    filters: dict[str, tuple[float, ...]] = field(default_factory=dict)
    orientations: int = 6
    name: str = "custom"
    period: float | None = None
    adaptive: bool = False

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
        object.__setattr__(self, "adaptive", bool(self.adaptive))
        if self.period is not None:
            period = float(self.period)
            if not 2.0 <= period <= 512.0:
                raise PaintsegError(f"lattice period {period:g} px is outside 2-512 px")
            object.__setattr__(self, "period", period)
            longest = max((max(v) for k, v in clean.items() if k in WAVELENGTH_FAMILIES and v),
                          default=0.0)
            if longest * period > MAX_WAVELENGTH:
                raise PaintsegError(
                    f"lattice period {period:g} px makes a wavelength of {longest * period:g} px "
                    f"(at most {MAX_WAVELENGTH:g})")

    def wavelengths(self, family: str) -> tuple[float, ...]:
        """Scales of ``family`` in pixels (wavelengths scaled by the period when set)."""
        scales = self.filters.get(family, ())
        if self.period is not None and family in WAVELENGTH_FAMILIES:
            return tuple(s * self.period for s in scales)
        return scales

    def with_period(self, period: float) -> FeatureSpec:
        """The same features for a lattice of ``period`` pixels (e.g. another magnification)."""
        if self.period is None:
            raise PaintsegError("this feature spec has no lattice period to rescale")
        return FeatureSpec(filters=self.filters, orientations=self.orientations,
                           name=self.name, period=period)

    # -- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-able data (saved in model and project files)."""
        data = {
            "version": SPEC_VERSION,
            "name": self.name,
            "orientations": self.orientations,
            "filters": {k: list(v) for k, v in self.filters.items()},
        }
        if self.period is not None:
            data["period"] = self.period
        if self.adaptive:
            data["adaptive"] = True
        return data

    def to_json(self) -> str:
        """The spec as a JSON string (also its cache key)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """A spec from ``to_dict``'s data, checked: a one-line error for an unknown family
        or version."""
        if not isinstance(data, dict) or "filters" not in data:
            raise PaintsegError("not a feature spec: missing 'filters'")
        if int(data.get("version", SPEC_VERSION)) > SPEC_VERSION:
            raise PaintsegError("feature spec written by a newer paintseg; please upgrade")
        return cls(
            filters={k: tuple(v) for k, v in data["filters"].items()},
            orientations=int(data.get("orientations", 6)),
            name=str(data.get("name", "custom")),
            period=None if data.get("period") is None else float(data["period"]),
            adaptive=bool(data.get("adaptive", False)),
        )

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        """A spec from ``to_json``'s string."""
        return cls.from_dict(json.loads(text))

    # -- geometry ------------------------------------------------------------------
    @property
    def halo(self) -> int:
        """Pixels of context each output pixel depends on (for tiled computation)."""
        reach = 0.0
        for family in self.filters:
            scales = self.wavelengths(family)
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
        return channel_names(self)

    @property
    def n_features(self) -> int:
        return len(self.channel_names())


#: The parts of each family's channels at one scale (one unnamed channel when not listed):
#: what ``features.filters`` computes, in its order.
CHANNEL_PARTS: dict[str, Callable[[FeatureSpec], list[str]]] = {
    "hessian": lambda spec: ["l1", "l2"],
    "structure": lambda spec: ["l1", "l2"],
    "lattice": lambda spec: ["energy", "anisotropy"],
    "texture": lambda spec: ["share", "anisotropy"],
    "symmetry": lambda spec: ["coherence", "chirality"],
    "gabor": lambda spec: [f"o{k}" for k in range(spec.orientations)],
}


def channel_names(spec: FeatureSpec) -> list[str]:
    """``family_scale[_part]`` per channel; period-relative scales read ``1.6P``."""
    names = []
    for family, scales in spec.filters.items():
        if family == "intensity":
            names.append("intensity")
            continue
        suffixes = CHANNEL_PARTS.get(family, lambda spec: [""])(spec)
        unit = "P" if spec.period is not None and family in WAVELENGTH_FAMILIES else ""
        for s in scales:
            for suffix in suffixes:
                names.append(f"{family}_{s:g}{unit}" + (f"_{suffix}" if suffix else ""))
    return names


#: Gaussian scales of the ``auto`` preset: ilastik's, from sub-pixel to coarse.
BASE_SCALES = (0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
#: Wavelengths of the lattice families, as multiples of the lattice period, when the
#: image has a lattice: below, at and above the period (sub-lattices, the period,
#: superstructures and the envelope of the grains).
LATTICE_MULTIPLES = {"lattice": (0.6, 1.0, 1.6, 2.5), "symmetry": (0.9, 1.15)}
#: Wavelengths in pixels when it has none: a band-pass texture bank for the scales
#: beyond the Gaussian families' reach (their sigmas 0.7-1.6 already cover ~4 px
#: wavelengths; a 4-px band added only noise on plates and membranes, measured). The
#: ``texture`` family: each band's amplitude as a share of the local contrast, so it
#: says which texture a region has while the Gaussian families say how strong; the
#: raw amplitude (the ``lattice`` family, as before) also lit up every particle border
#: and gave small particles a halo one wavelength wide. Measured on 186 cases, two forest
#: seeds: +0.004 (SEM TiO2 particles +0.028, textures +0.048, MetalDAM +0.014, one
#: stroke per class +0.015; plates -0.022, ssTEM and EBC layers -0.005 / -0.007).
#: With them, the ``relative`` family: intensity against its surroundings (Gaussian
#: sigma, px) beyond the Gaussian families' reach (sigma 10), a neighbourhood of a few
#: structures and the slow shading of the field. Measured on 30 cases (18 of the
#: benchmark, 12 others; two forest seeds): plates +0.040, ISBI, MetalDAM and
#: textures within +-0.004, six further plates images +0.024; one scale alone (24 or
#: 48) gained nothing. On a lattice image it cost 0.02-0.04 at the finest periods
#: (the column contrast is what it measures there), so a lattice goes without it.
NO_LATTICE_FILTERS = {"texture": (8.0, 16.0, 32.0), "relative": (24.0, 64.0)}

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
    # The default for every kind of image: ilastik's fine-to-coarse Gaussian families
    # (intensity, edges, ridges / membranes, blobs, orientation), local variance, and
    # lattice descriptors placed at the image's own lattice period when it has one (a
    # fixed band-pass texture bank, contrast-normalised, and the intensity relative to
    # wide surroundings when it has none).
    "auto": FeatureSpec(
        name="auto",
        adaptive=True,
        filters={
            "intensity": (),
            "gaussian": BASE_SCALES,
            "gradient": BASE_SCALES,
            "laplacian": BASE_SCALES,
            "hessian": BASE_SCALES,
            "structure": BASE_SCALES,
            "dog": BASE_SCALES,
            "variance": (1.6, 5.0),
        },
    ),
    # For atomic-resolution images: few intensity scales, the lattice families at
    # the image's period carry the classification.
    "stem": FeatureSpec(
        name="stem",
        adaptive=True,
        filters={
            "gaussian": (1.0, 2.0, 8.0),
            "gradient": (2.0,),
            "variance": (4.0, 8.0),
        },
    ),
}


def adapt_to_lattice(spec: FeatureSpec, period: float | None) -> FeatureSpec:
    """The concrete spec of an adaptive template for a lattice of ``period`` pixels.

    With a period, the lattice and symmetry families are added at multiples of it;
    without one (no lattice found), the fixed texture bank and the intensity relative
    to wide surroundings are added instead. A spec that is not adaptive is returned
    unchanged.
    """
    if not spec.adaptive:
        return spec
    extra = LATTICE_MULTIPLES if period is not None else NO_LATTICE_FILTERS
    if period is not None:  # keep every wavelength within the filter's range
        limit = MAX_WAVELENGTH / float(period)
        extra = {k: tuple(m for m in v if m <= limit) or (min(v),) for k, v in extra.items()}
    return FeatureSpec(filters={**spec.filters, **extra}, orientations=spec.orientations,
                       name=spec.name, period=period)


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
