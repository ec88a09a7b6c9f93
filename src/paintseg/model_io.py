"""The model file: a zip holding ``model.json`` and ``classifier.skops``, written from
a fitted ``Segmenter`` and read back checked (``Segmenter.load`` / ``from_bytes``
build the model from what ``read_model`` returns, so this module needs no Segmenter).

``model.json`` carries everything a person or another program needs to know about
the model (format version, FeatureSpec, class ids / names / colours, package
versions, training summary); ``classifier.skops`` holds the fitted estimator in
skops' format, which loads objects without running code from the file. Types
outside an allow-list (scikit-learn, NumPy, XGBoost, LightGBM and paintseg's own
transformers) are refused.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import platform
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .annotations import MAX_CLASS_ID
from .edges import EDGE_SIGMA, EDGE_SIGMAS
from .errors import PaintsegError
from .features.intensity import INTENSITY_CENTRES
from .features.spec import FeatureSpec
from .files import atomic_write_bytes


@dataclass(frozen=True)
class ModelFile:
    """What a model file holds, checked: ``model.json`` (``meta``), its feature spec,
    and the fitted classifier."""

    meta: dict
    features: FeatureSpec
    estimator: Any  # a fitted scikit-learn classifier or pipeline


FORMAT = "paintseg-model"
FORMAT_VERSION = 1
#: How models saved without an 'intensity_centre' mapped intensities (the middle of the
#: 0.5-99.5 % range): they go on predicting as they were trained.
LEGACY_CENTRE = "range"
TRUSTED_PREFIXES = ("sklearn.", "numpy.")
TRUSTED_TYPES = {
    "collections.OrderedDict",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "paintseg.classifiers.ZeroCount",
    "paintseg.classifiers.StackingEstimator",
    "tpot.builtin_modules.zero_count.ZeroCount",
    "tpot.builtin_modules.feature_set_selector.FeatureSetSelector",
    "tpot.builtin_modules.estimatortransformer.EstimatorTransformer",
    "tpot.builtin_modules.passthrough.Passthrough",
    "tpot.builtin_modules.passthrough.SkipTransformer",
    "paintseg.automl.ColumnGroupSelector",
}


#: Largest members read from a model file, checked before reading (a zip bomb fails
#: here, not after filling the memory): model.json is a few kB, a classifier rarely
#: over a few hundred MB.
MAX_META_BYTES = 4 * 2**20
MAX_CLASSIFIER_BYTES = 2 * 2**30
#: model.json: every key a loader reads, and its type.
META_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "format": str, "format_version": int, "features": dict, "classes": list,
    "class_names": list, "class_colours": list, "n_features": int,
}
META_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "classifier": str, "smoothing": (int, float), "max_pixels_per_class": int,
    "random_state": int, "training_summary": dict, "versions": dict, "lattice": dict,
    "snap_to_edges": bool, "edge_pairs": list, "edge_sigma": (int, float),
    "intensity_centre": str,
}


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, source: str) -> bytes:
    """A zip member's bytes, refused before reading when its stated size is over ``limit``."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise PaintsegError(f"{source} is not a paintseg model (no {name})") from None
    if info.file_size > limit:
        raise PaintsegError(f"{source}: {name} would unpack to {info.file_size / 2**20:.0f} MB, "
                            f"over the {limit / 2**20:.0f} MB a model file may hold")
    with zf.open(info) as member:
        data = member.read(limit + 1)  # the stated size can lie: never read past the limit
    if len(data) > limit:
        raise PaintsegError(f"{source}: {name} is larger than its zip entry says")
    return data


def check_meta(meta, source: str) -> dict:
    """model.json against its schema: every key and type, one clear line when not."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PaintsegError(f"{source} is not a paintseg model")
    for key, kind in META_SCHEMA.items():
        if key not in meta:
            raise PaintsegError(f"{source}: model.json lacks '{key}'")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise PaintsegError(f"{source}: model.json '{key}' has the wrong type")
    for key, kind in META_OPTIONAL.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            raise PaintsegError(f"{source}: model.json '{key}' has the wrong type")
    n = len(meta["classes"])
    if n < 2 or not all(isinstance(k, int) and 0 < k <= MAX_CLASS_ID for k in meta["classes"]):
        raise PaintsegError(f"{source}: model.json 'classes' must be two or more class ids "
                            f"from 1 to {MAX_CLASS_ID}")
    if any(a >= b for a, b in itertools.pairwise(meta["classes"])):
        raise PaintsegError(f"{source}: model.json 'classes' must be distinct and in "
                            "increasing order")
    if not np.isfinite(meta["smoothing"]) or meta["smoothing"] < 0:
        raise PaintsegError(f"{source}: model.json 'smoothing' must be a non-negative number "
                            "of pixels")
    if len(meta["class_names"]) != n or len(meta["class_colours"]) != n or not all(
            isinstance(v, str) for v in meta["class_names"] + meta["class_colours"]):
        raise PaintsegError(f"{source}: model.json needs a name and a colour for each class")
    for pair in meta.get("edge_pairs") or []:
        if (not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]
                or not all(isinstance(i, int) and 0 <= i < n for i in pair)):
            raise PaintsegError(f"{source}: model.json 'edge_pairs' is not a list of class pairs")
    if meta.get("intensity_centre", LEGACY_CENTRE) not in INTENSITY_CENTRES:
        raise PaintsegError(f"{source}: model.json 'intensity_centre' must be one of "
                            + ", ".join(INTENSITY_CENTRES))
    sigma = meta.get("edge_sigma", EDGE_SIGMA)
    if isinstance(sigma, bool) or not np.isfinite(sigma) or not 0 < sigma <= EDGE_SIGMAS[-1]:
        raise PaintsegError(f"{source}: model.json 'edge_sigma' must be a number of pixels "
                            f"in (0, {EDGE_SIGMAS[-1]:g}]")
    lattice = meta.get("lattice") or {}
    for key in ("period_px", "period_nm", "strength"):
        value = lattice.get(key)
        if value is not None and (not isinstance(value, (int, float)) or not np.isfinite(value)):
            raise PaintsegError(f"{source}: model.json 'lattice.{key}' must be a number")
    found = lattice.get("found_px", [])
    if not isinstance(found, list) or not all(
            isinstance(x, (int, float)) and np.isfinite(x) for x in found):
        raise PaintsegError(f"{source}: model.json 'lattice.found_px' must be a list of numbers")
    if not isinstance(lattice.get("not_used", ""), str):
        raise PaintsegError(f"{source}: model.json 'lattice.not_used' must be text")
    return meta


def package_versions() -> dict[str, str]:
    """The versions a model file records (paintseg, numpy, scikit-learn, Python, optional
    classifiers)."""
    import sklearn

    from . import __version__

    versions = {"paintseg": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                "python": platform.python_version()}
    for name in ("xgboost", "lightgbm", "skops"):
        with contextlib.suppress(ImportError):
            versions[name] = __import__(name).__version__
    return versions


def segmenter_to_bytes(seg) -> bytes:
    """A fitted Segmenter as the bytes of a model file (JSON metadata and a skops
    classifier in one zip)."""
    import skops.io as sio

    if getattr(seg, "trees_pending_", 0):
        raise PaintsegError("this model's forest is not fully grown (a live training): "
                            "call grow() with its images and strokes before saving it")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "features": seg.spec_.to_dict(),
        "classifier": seg.classifier if isinstance(seg.classifier, str) else type(
            seg.classifier).__name__,
        "classes": [int(k) for k in seg.classes_],
        "class_names": list(seg.class_names_),
        "class_colours": list(seg.class_colours_),
        "smoothing": float(seg.smoothing_),
        "snap_to_edges": bool(seg.snap_to_edges),
        "edge_pairs": [[int(i), int(j)] for i, j in seg.edge_pairs_],
        "edge_sigma": float(seg.edge_sigma_),
        "intensity_centre": seg.intensity_centre_,
        "lattice": {
            "period_px": seg.spec_.period,
            "period_nm": seg.period_nm_,
            "strength": float(seg.lattice_.strength),
            "found_px": [float(x) for x in seg.lattice_.periods],
            "not_used": str(seg.lattice_.not_used),
        },
        "max_pixels_per_class": int(seg.max_pixels_per_class),
        "random_state": int(seg.random_state),
        "n_features": int(seg.n_features_in_),
        "training_summary": seg.training_summary_,
        "versions": package_versions(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.json", json.dumps(meta, indent=2))
        zf.writestr("classifier.skops", sio.dumps(seg.estimator_))
    return buffer.getvalue()


def save_segmenter(seg, path) -> None:
    """Write a fitted Segmenter's model file atomically."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(seg, "estimator_")
    atomic_write_bytes(Path(path), segmenter_to_bytes(seg))


def _is_trusted(type_name: str) -> bool:
    return type_name in TRUSTED_TYPES or type_name.startswith(TRUSTED_PREFIXES)


def read_model(data: bytes, source: str = "model file") -> ModelFile:
    """The checked contents of model bytes (``Segmenter.from_bytes`` builds the model
    from them): one clear line for anything wrong, and no code from the file run."""
    import skops.io as sio

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        meta = json.loads(_read_member(zf, "model.json", MAX_META_BYTES, source))
        blob = _read_member(zf, "classifier.skops", MAX_CLASSIFIER_BYTES, source)
    except (zipfile.BadZipFile, zlib.error, json.JSONDecodeError, UnicodeDecodeError, RecursionError,
            OSError, EOFError, NotImplementedError, ValueError) as exc:
        if isinstance(exc, PaintsegError):
            raise
        raise PaintsegError(f"{source} is not a paintseg model ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PaintsegError(f"{source} is not a paintseg model")
    version = meta.get("format_version", -1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise PaintsegError(f"{source}: model.json 'format_version' must be a whole number")
    if version != FORMAT_VERSION:
        newer = "newer" if version > FORMAT_VERSION else "older"
        raise PaintsegError(
            f"{source} uses model format {version}, written by a {newer} paintseg; "
            f"this paintseg reads format {FORMAT_VERSION}"
        )
    check_meta(meta, source)
    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:  # skops raises many types on corrupt input
        raise PaintsegError(f"{source} has a corrupt classifier ({exc.__class__.__name__})") from None
    refused = [t for t in untrusted if not _is_trusted(t)]
    if refused:
        raise PaintsegError(f"{source} contains a type paintseg does not load: {refused[0]}")
    try:
        estimator = sio.loads(blob, trusted=untrusted)
    except ModuleNotFoundError as exc:  # a classifier of an optional part (xgboost)
        missing = (exc.name or "a module").split(".")[0]
        extra = ": pip install 'paintseg[automl]'" if missing == "xgboost" else ""
        raise PaintsegError(f"{source} needs {missing}, which is not installed{extra}") from None
    except Exception as exc:
        raise PaintsegError(f"{source} has a corrupt classifier ({exc.__class__.__name__})") from None
    try:
        features = FeatureSpec.from_dict(meta["features"])
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        if isinstance(exc, PaintsegError):
            raise PaintsegError(f"{source}: {exc}") from None
        raise PaintsegError(f"{source}: model.json 'features' is not a feature spec") from None
    n_features = int(meta["n_features"])
    if n_features != features.n_features:
        raise PaintsegError(f"{source} is inconsistent: its spec does not give {n_features} features")
    return ModelFile(meta, features, estimator)


def read_model_file(path) -> ModelFile:
    """The checked contents of the model file at ``path`` (see ``read_model``)."""
    if not isinstance(path, str | os.PathLike):
        raise PaintsegError(f"expected a model file path, got {type(path).__name__} "
                            "(model bytes: Segmenter.from_bytes)")
    path = Path(path)
    if path.is_dir():
        raise PaintsegError(f"{path} is a folder, not a model file")
    if not path.is_file():
        raise PaintsegError(f"model file not found: {path}")
    return read_model(path.read_bytes(), source=str(path.name))
