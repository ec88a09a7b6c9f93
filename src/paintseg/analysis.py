"""Measuring a segmentation: how much of each phase, how many regions, how large.

A materials scientist segments phases to measure them. This module turns a label
mask (0 = not counted, k = class k), optionally the probability maps it came from
and the image's pixel size, into numbers:

* per class: the area fraction and the area in physical units (nm², µm²... from the
  pixel size; pixels when it is unknown);
* the connected regions of each class (grains, particles): count, area, equivalent
  diameter, perimeter, aspect ratio, measured with scikit-image's ``regionprops_table``,
  and their size distribution (d10 / d50 / d90 of the equivalent diameter);
* how much a fraction depends on uncertain pixels, from the probability maps: the
  fraction by expected probability beside the arg-max fraction, and the range of the
  fraction over plausible probability thresholds (``fraction_low`` .. ``fraction_high``);
* the same for a series (frames of a movie, samples of a batch): one row per
  (frame, class).

Optional cleaning before measuring (regions under N pixels merged into their
surroundings, holes of chosen classes filled) is recorded with the numbers. The
functions are pure: arrays in, a ``Measurement`` out; ``write_table`` writes the rows.

Regions are the connected components of one class: two grains of the same phase that
touch without a boundary class between them count as one region. Regions cut by the
image border (``touches_border``) are smaller than the real grains; say so or leave
them out (``exclude_border`` in ``Measurement.region_rows``) when sizes matter.
"""

from __future__ import annotations

import csv
import io as _io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import PaintsegError, size_text
from .files import atomic_write_text
from .io import UNIT_TO_NM

#: Probability thresholds whose fractions bound the interval: a pixel surely of class k
#: has p_k >= 0.75, a pixel plausibly of class k has p_k >= 0.25.
DEFAULT_THRESHOLDS = (0.25, 0.75)
_UNIT_NAMES = {"um": "µm", "μm": "µm", "micron": "µm", "a": "Å", "å": "Å", "angstrom": "Å"}
REGION_PROPERTIES = ("label", "area", "perimeter", "equivalent_diameter_area",
                     "axis_major_length", "axis_minor_length", "centroid", "bbox")


# -- calibration -------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """The length of a pixel's side: ``pixel_size`` in ``unit``, or unknown (None, "px")."""

    pixel_size: float | None = None
    unit: str = "px"

    @property
    def known(self) -> bool:
        return self.pixel_size is not None

    @property
    def length_unit(self) -> str:
        return self.unit if self.known else "px"

    @property
    def area_unit(self) -> str:
        return f"{self.unit}²" if self.known else "px"

    @property
    def pixel_area(self) -> float:
        """The area of one pixel in ``area_unit`` (1 when uncalibrated)."""
        return float(self.pixel_size) ** 2 if self.known else 1.0

    def to(self, unit: str, source: str = "the image") -> Calibration:
        """The same calibration in another length unit (nm, µm, Å...)."""
        unit = normalise_unit(unit)
        if not self.known:
            raise PaintsegError(f"areas in {unit}² need a pixel size, and {source} carries none: "
                                "give the pixel size (--pixel-size VALUE --unit UNIT)")
        factor = UNIT_TO_NM[self.unit.lower()] / UNIT_TO_NM[unit.lower()]
        return Calibration(float(self.pixel_size) * factor, unit)


def normalise_unit(unit: str) -> str:
    """'um' -> 'µm', 'angstrom' -> 'Å', ...; a clear message for a unit that is not a length."""
    text = str(unit).strip()
    text = _UNIT_NAMES.get(text.lower(), text)
    if text.lower() not in UNIT_TO_NM:
        raise PaintsegError(f"unknown length unit '{unit}': use one of nm, µm (um), Å, pm, mm, m")
    return text


def calibration(pixel_size: float | None = None, unit: str | None = None) -> Calibration:
    """A checked ``Calibration``: a pixel size needs a length unit (nm when not given);
    no pixel size gives an uncalibrated one (areas in pixels)."""
    if pixel_size is None:
        return Calibration()
    size = float(pixel_size)
    if not (math.isfinite(size) and size > 0):
        raise PaintsegError(f"the pixel size must be a positive number, not {pixel_size}")
    return Calibration(size, normalise_unit(unit or "nm"))


def image_calibration(image: np.ndarray) -> Calibration:
    """The calibration an ``io.Image`` carries (uncalibrated for plain arrays)."""
    size, unit = getattr(image, "pixel_size", None), getattr(image, "unit", "px")
    if size is None or str(unit).strip().lower() not in UNIT_TO_NM:
        return Calibration()
    return Calibration(float(size), normalise_unit(unit))


# -- checks ------------------------------------------------------------------------------
def check_mask(mask: np.ndarray, name: str = "mask") -> np.ndarray:
    """A label mask as a 2-D integer array, or a one-line ``PaintsegError`` saying why not.

    A float mask is refused even when its values are whole: it is usually a probability
    map or an image given in the wrong place.
    """
    data = np.asarray(mask)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        raise PaintsegError(f"{name} has colour channels: a mask holds one class id per pixel "
                            "(a palette or grey PNG, or a TIFF)")
    if data.ndim != 2:
        raise PaintsegError(f"{name}: a mask must be 2-D, got shape {data.shape}")
    if np.issubdtype(data.dtype, np.floating):
        hint = ("; if its values are whole class ids, convert it: mask.astype(int)"
                if np.isfinite(data).all() and np.all(data == np.round(data))
                else " (probabilities go to --proba / proba=)")
        raise PaintsegError(f"{name} holds {data.dtype} values, not whole class ids{hint}")
    if not np.issubdtype(data.dtype, np.integer):
        raise PaintsegError(f"{name} holds {data.dtype} values, not whole class ids")
    if data.size and data.min() < 0:
        raise PaintsegError(f"{name} holds negative values: class ids are 0 (not counted), 1, 2, ...")
    return data


def resolve_classes(masks: Sequence[np.ndarray],
                    class_names: Sequence[str] | Mapping[int, str] | None = None,
                    names: Sequence[str] = ()) -> tuple[list[int], list[str]]:
    """The classes to report and their names.

    ``class_names``: a list names classes 1..N, a mapping names ids; None reports the
    classes present in the masks with names 'class k'. A label in a mask without a name
    is refused (its pixels would be counted as nothing).
    """
    present = sorted({int(k) for m in masks for k in np.unique(m) if k})
    if class_names is None:
        return present, [f"class {k}" for k in present]
    if isinstance(class_names, Mapping):
        named = {int(k): str(v) for k, v in class_names.items()}
    else:
        named = {i + 1: str(v) for i, v in enumerate(class_names)}
    if not named:
        raise PaintsegError("no class names given")
    blank = [k for k, v in named.items() if not v.strip()]
    if blank:
        raise PaintsegError(f"class {blank[0]} has an empty name")
    if len(set(named.values())) != len(named):
        raise PaintsegError("two classes have the same name")
    for i, m in enumerate(masks):
        missing = sorted(set(np.unique(m).tolist()) - set(named) - {0})
        if missing:
            where = names[i] if i < len(names) else f"mask {i + 1}"
            listed = ", ".join(f"{k} {v}" for k, v in sorted(named.items()))
            raise PaintsegError(f"{where} holds class {missing[0]}, which has no name "
                                f"(names given: {listed})")
    ids = sorted(named)
    return ids, [named[k] for k in ids]


def check_proba(proba, shape: tuple[int, int], n_classes: int, name: str = "probabilities"
                ) -> np.ndarray:
    """Probability maps as a (H, W, K) float32 array matching the mask and its classes."""
    p = np.asarray(proba)
    if p.ndim != 3:
        raise PaintsegError(f"{name}: probability maps are (height, width, classes), "
                            f"got shape {p.shape}")
    if p.shape[:2] != tuple(shape):
        raise PaintsegError(f"{name} is {size_text(p.shape[:2])} but the mask is "
                            f"{size_text(shape)}")
    if p.shape[2] != n_classes:
        raise PaintsegError(f"{name} holds {p.shape[2]} classes but the mask has {n_classes}")
    if not np.issubdtype(p.dtype, np.floating):
        raise PaintsegError(f"{name} holds {p.dtype} values, not probabilities between 0 and 1")
    p = p.astype(np.float32, copy=False)
    if not np.isfinite(p).all() or p.min() < -1e-4 or p.max() > 1 + 1e-4:
        raise PaintsegError(f"{name}: values outside 0..1 are not probabilities")
    sums = p.sum(axis=2)
    if np.abs(sums - 1).max() > 0.02:
        raise PaintsegError(f"{name}: the class probabilities of a pixel do not add up to 1 "
                            "(are all the classes' maps there?)")
    return p


# -- cleaning ----------------------------------------------------------------------------
def label_regions(binary: np.ndarray, connectivity: int = 2) -> np.ndarray:
    """Connected regions of a boolean image (1: edge neighbours, 2: also diagonal)."""
    from skimage.measure import label

    return label(binary, connectivity=connectivity)


def clean_mask(mask: np.ndarray, *, min_region: int = 0, fill_holes: Sequence[int] = (),
               connectivity: int = 2) -> np.ndarray:
    """A copy of ``mask`` with small regions merged into their surroundings and holes filled.

    Regions of any class under ``min_region`` pixels take the class of the nearest
    pixel that is not in such a region (so specks of noise join the grain around them
    and the fractions still add up); then every hole in a region of a class listed in
    ``fill_holes`` (whatever class fills it) becomes that class. 0 stays 0.
    """
    from scipy import ndimage as ndi

    out = np.array(mask, copy=True)
    if min_region > 1:
        small = np.zeros(out.shape, bool)
        for k in np.unique(out):
            if k == 0:
                continue
            regions = label_regions(out == k, connectivity)
            sizes = np.bincount(regions.ravel())
            sizes[0] = min_region  # the background is no region
            small |= (sizes < min_region)[regions]
        keep = (out > 0) & ~small
        if small.any():
            if not keep.any():
                raise PaintsegError(f"every region is under {min_region} px: nothing would be left "
                                    "to measure (lower --min-region)")
            _, index = ndi.distance_transform_edt(~keep, return_indices=True)
            out[small] = out[tuple(index)][small]
    for k in fill_holes:
        filled = ndi.binary_fill_holes(out == k)
        out[filled] = k
    return out


# -- measuring ---------------------------------------------------------------------------
@dataclass
class ClassMeasure:
    """The numbers of one class in one image (see ``Measurement.rows`` for the columns)."""

    id: int
    name: str
    pixels: int
    fraction: float
    area: float
    expected: float | None = None
    low: float | None = None
    high: float | None = None
    regions: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Measurement:
    """Everything measured on one image (one frame of a series)."""

    name: str
    frame: int
    classes: list[ClassMeasure]
    calibration: Calibration
    counted_pixels: int
    settings: dict
    mask: np.ndarray  # the mask measured (after cleaning; 0 where not counted)
    time: float | None = None
    time_unit: str = ""
    uncertain: float | None = None  # fraction of counted pixels no class is sure of

    def rows(self) -> list[dict]:
        """One row per class: the fractions with their interval, the area and the regions."""
        cal, rows = self.calibration, []
        for c in self.classes:
            r = c.regions
            diameters = r.get("equivalent_diameter", np.empty(0))
            d10, d50, d90 = (np.percentile(diameters, [10, 50, 90]).tolist() if diameters.size
                             else (None, None, None))
            rows.append({
                "frame": self.frame + 1, "time": self.time, "time_unit": self.time_unit or None,
                "image": self.name, "class_id": c.id, "class": c.name, "pixels": c.pixels,
                "fraction": c.fraction, "fraction_expected": c.expected,
                "fraction_low": c.low, "fraction_high": c.high,
                "area": c.area, "area_unit": cal.area_unit,
                "regions": int(diameters.size),
                "regions_inside": int((~r["touches_border"]).sum()) if diameters.size else 0,
                "mean_region_area": float(r["area"].mean()) if diameters.size else None,
                "median_region_area": float(np.median(r["area"])) if diameters.size else None,
                "mean_diameter": float(diameters.mean()) if diameters.size else None,
                "diameter_d10": d10, "diameter_d50": d50, "diameter_d90": d90,
                "length_unit": cal.length_unit,
                "mean_aspect_ratio": _nanmean(r.get("aspect_ratio")),
                "pixel_size": cal.pixel_size, "uncertain_fraction": self.uncertain,
                "min_region_px": self.settings["min_region_px"],
                "fill_holes": " ".join(self.settings["fill_holes"]),
                "connectivity": self.settings["connectivity"],
            })
        return rows

    def region_rows(self, exclude_border: bool = False) -> list[dict]:
        """One row per region of every class (sizes in the calibration's units)."""
        rows = []
        for c in self.classes:
            r = c.regions
            for i in range(len(r.get("region", ()))):
                if exclude_border and r["touches_border"][i]:
                    continue
                rows.append({"frame": self.frame + 1, "image": self.name, "class_id": c.id,
                             "class": c.name, **{key: _scalar(v[i]) for key, v in r.items()},
                             "area_unit": self.calibration.area_unit,
                             "length_unit": self.calibration.length_unit})
        return rows


def _nanmean(values) -> float | None:
    if values is None or not np.isfinite(values).any():
        return None
    return float(np.nanmean(np.where(np.isfinite(values), values, np.nan)))


def _scalar(v):
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v) if np.isfinite(v) else None
    return v


def measure_regions(binary: np.ndarray, calibration: Calibration = Calibration(), *,
                    connectivity: int = 2) -> dict[str, np.ndarray]:
    """The connected regions of a boolean image, one entry per region, from scikit-image's
    ``regionprops_table``: ``label``, ``area_px``, ``area``, ``equivalent_diameter``,
    ``perimeter``, ``major_axis``, ``minor_axis``, ``aspect_ratio`` (major / minor of the
    ellipse with the same second moments; NaN for a region one pixel thin),
    ``centroid_y``, ``centroid_x`` (pixels) and ``touches_border``. Lengths and areas
    are in the calibration's units (pixels when unknown).
    """
    from skimage.measure import regionprops_table

    labels = label_regions(binary, connectivity)
    t = regionprops_table(labels, properties=REGION_PROPERTIES)
    size, h, w = (calibration.pixel_size or 1.0), binary.shape[0], binary.shape[1]
    major, minor = t["axis_major_length"], t["axis_minor_length"]
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.where(minor > 1e-9, major / np.where(minor > 1e-9, minor, 1), np.nan)
    return {
        "region": t["label"].astype(np.int64),
        "area_px": t["area"].astype(np.int64),
        "area": t["area"] * calibration.pixel_area,
        "equivalent_diameter": t["equivalent_diameter_area"] * size,
        "perimeter": t["perimeter"] * size,
        "major_axis": major * size,
        "minor_axis": minor * size,
        "aspect_ratio": aspect,
        "centroid_y": t["centroid-0"],
        "centroid_x": t["centroid-1"],
        "touches_border": (t["bbox-0"] == 0) | (t["bbox-1"] == 0) | (t["bbox-2"] == h)
        | (t["bbox-3"] == w),
    }


def fraction_interval(proba: np.ndarray, counted: np.ndarray,
                      thresholds: tuple[float, float] = DEFAULT_THRESHOLDS
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per class (the last axis of ``proba``), over the ``counted`` pixels: the fraction by
    expected probability (mean p_k), the fraction of pixels surely of the class
    (p_k >= the upper threshold) and of pixels plausibly of it (p_k >= the lower one),
    and the fraction of pixels no class is sure of. The arg-max fraction lies between
    the sure and the plausible fraction whenever the lower threshold is at most 1/K.
    """
    lo_t, hi_t = sorted(float(t) for t in thresholds)
    if not 0 < lo_t <= hi_t < 1:
        raise PaintsegError(f"thresholds must lie between 0 and 1, got {thresholds}")
    p = proba[counted]
    n = max(len(p), 1)
    expected = p.sum(axis=0, dtype=np.float64) / n
    sure = (p >= hi_t).sum(axis=0) / n
    plausible = (p >= lo_t).sum(axis=0) / n
    uncertain = float((p.max(axis=1) < hi_t).sum() / n) if len(p) else 0.0
    return expected, sure, plausible, uncertain


def measure(mask: np.ndarray, proba: np.ndarray | None = None, *,
            class_names: Sequence[str] | Mapping[int, str] | None = None,
            classes: Sequence[int] | None = None,
            calibration: Calibration = Calibration(), valid: np.ndarray | None = None, min_region: int = 0,
            fill_holes: Sequence[int] = (), connectivity: int = 2,
            thresholds: tuple[float, float] = DEFAULT_THRESHOLDS, name: str = "image",
            frame: int = 0, time: float | None = None, time_unit: str = "") -> Measurement:
    """Measure one label mask: fractions, areas and regions of each class.

    Parameters
    ----------
    mask : (H, W) integer class ids; 0 is not counted (unlabelled, ignored).
    proba : optional (H, W, K) probability maps, one per class of ``classes`` in order,
        for the interval on each fraction (``fraction_interval``).
    class_names : list (naming classes 1..N) or mapping id -> name; see ``resolve_classes``.
    classes : the class ids to report (instead of those named or present), e.g. a
        model's classes, so a class absent from this image still gets its row.
    calibration : the pixel size (``calibration(0.5, "nm")``, ``image_calibration``).
    valid : optional boolean (H, W): where the segmentation counts (False under regions
        the user asked to ignore). Regions are cut there.
    min_region, fill_holes, connectivity : cleaning before measuring (``clean_mask``).
    """
    m = check_mask(mask, name)
    if valid is not None:
        valid = np.asarray(valid, bool)
        if valid.shape != m.shape:
            raise PaintsegError(f"{name}: the valid region is {valid.shape}, the mask {m.shape}")
        m = np.where(valid, m, 0)
    if classes is not None:
        ids = [int(k) for k in classes]
        if isinstance(class_names, Mapping):
            names = [str(class_names.get(k, f"class {k}")) for k in ids]
        elif class_names is not None:
            names = [str(v) for v in class_names]
            if len(names) != len(ids):
                raise PaintsegError(f"{len(names)} class names for {len(ids)} classes")
        else:
            names = [f"class {k}" for k in ids]
        extra = sorted(set(np.unique(m).tolist()) - set(ids) - {0})
        if extra:
            raise PaintsegError(f"{name} holds class {extra[0]}, which is not among the classes "
                                f"measured ({', '.join(map(str, ids))})")
    else:
        ids, names = resolve_classes([m], class_names, [name])
    if connectivity not in (1, 2):
        raise PaintsegError("connectivity is 1 (edge neighbours) or 2 (also diagonal)")
    if min_region < 0:
        raise PaintsegError("the smallest region size cannot be negative")
    unknown = [k for k in fill_holes if int(k) not in ids]
    if unknown:
        raise PaintsegError(f"cannot fill holes of class {unknown[0]}: no such class")
    raw_counted = m > 0
    if not raw_counted.any():
        raise PaintsegError(f"{name} has no labelled pixels (all 0): nothing to measure")
    p = None if proba is None else check_proba(proba, m.shape, len(ids), f"{name} probabilities")
    cleaned = clean_mask(m, min_region=min_region, fill_holes=fill_holes,
                         connectivity=connectivity) if (min_region > 1 or fill_holes) else m
    counted = cleaned > 0
    total = int(counted.sum())
    counts = np.bincount(cleaned.ravel(), minlength=max(ids) + 1)
    interval = fraction_interval(p, counted, thresholds) if p is not None else None
    measures = []
    for i, (k, label) in enumerate(zip(ids, names, strict=True)):
        fraction = counts[k] / total
        c = ClassMeasure(id=k, name=label, pixels=int(counts[k]), fraction=float(fraction),
                         area=float(counts[k] * calibration.pixel_area),
                         regions=measure_regions(cleaned == k, calibration,
                                                 connectivity=connectivity))
        if interval is not None:
            expected, sure, plausible = (float(a[i]) for a in interval[:3])
            c.expected = expected
            c.low = min(sure, fraction, expected)
            c.high = max(plausible, fraction, expected)
        measures.append(c)
    settings = {"min_region_px": int(min_region),
                "fill_holes": [names[ids.index(int(k))] for k in fill_holes],
                "connectivity": int(connectivity), "thresholds": list(map(float, thresholds)),
                "cleaned_pixels": int((cleaned != m).sum())}
    return Measurement(name=name, frame=frame, classes=measures, calibration=calibration,
                       counted_pixels=total, settings=settings, mask=cleaned, time=time,
                       time_unit=time_unit, uncertain=None if interval is None else interval[3])


def measure_series(masks: Sequence[np.ndarray], probas: Sequence[np.ndarray] | None = None, *,
                   class_names: Sequence[str] | Mapping[int, str] | None = None,
                   classes: Sequence[int] | None = None,
                   calibrations: Calibration | Sequence[Calibration] = Calibration(),
                   names: Sequence[str] | None = None, times: Sequence[float] | None = None,
                   time_unit: str = "", valids: Sequence[np.ndarray | None] | None = None,
                   **options) -> list[Measurement]:
    """Measure a stack or a list of masks (frames of a movie, samples of a batch) with
    the same classes for every frame, so each frame has a row per class (0 where a
    class is absent). ``options`` are those of ``measure``."""
    masks = [check_mask(m, names[i] if names else f"frame {i + 1}") for i, m in enumerate(masks)]
    if not masks:
        raise PaintsegError("no masks to measure")
    n = len(masks)
    names = list(names) if names else [f"frame {i + 1}" for i in range(n)]
    if classes is None:
        ids, labels = resolve_classes(masks, class_names, names)
        class_names = dict(zip(ids, labels, strict=True))
        classes = ids
    if isinstance(calibrations, Calibration):
        calibrations = [calibrations] * n
    for what, seq in (("probability maps", probas), ("calibrations", calibrations),
                      ("names", names), ("times", times), ("valid regions", valids)):
        if seq is not None and len(seq) != n:
            raise PaintsegError(f"{n} masks but {len(seq)} {what}")
    return [measure(m, None if probas is None else probas[i], class_names=class_names,
                    classes=classes, calibration=calibrations[i],
                    valid=None if valids is None else valids[i], name=names[i], frame=i,
                    time=None if times is None else float(times[i]), time_unit=time_unit,
                    **options)
            for i, m in enumerate(masks)]


# -- tables ------------------------------------------------------------------------------
def table_rows(measurements: Sequence[Measurement]) -> list[dict]:
    """One row per (frame, class) of a series."""
    return [row for m in measurements for row in m.rows()]


def region_table_rows(measurements: Sequence[Measurement], exclude_border: bool = False
                      ) -> list[dict]:
    """One row per region of every class of every frame."""
    return [row for m in measurements for row in m.region_rows(exclude_border)]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.10g}"
    return str(value)


def table_csv(rows: Sequence[Mapping]) -> str:
    """CSV text of rows (the first row's keys are the columns; empty for a missing value)."""
    buffer = _io.StringIO()
    if rows:
        writer = csv.writer(buffer, lineterminator="\n")
        columns = list(rows[0])
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def write_table(path: str | os.PathLike, rows: Sequence[Mapping]) -> Path:
    """Write rows as a CSV file, atomically (a reader never sees half a table)."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise PaintsegError(f"tables are written as .csv, not '{path.suffix or '(none)'}'")
    atomic_write_text(path, table_csv(rows))
    return path


# -- reading masks -----------------------------------------------------------------------
@dataclass
class MaskFile:
    """The frames of a mask file with the calibration and frame times it carries."""

    frames: list[np.ndarray]
    calibration: Calibration
    times: list[float] | None = None
    time_unit: str = ""


def read_mask_frames(path: str | os.PathLike) -> MaskFile:
    """A mask file's frames: a multi-page TIFF or a 3-D .npy is a stack (ImageJ's frame
    interval gives the times), any other mask file one frame. Pixel size from the file."""
    from .io import read_image, tiff_pixel_size

    path = Path(path)
    if not path.is_file():
        raise PaintsegError(f"mask not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        return _read_tiff_frames(path, tiff_pixel_size)
    if suffix == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise PaintsegError(f"{path.name}: cannot read ({exc})") from None
        frames = list(data) if data.ndim == 3 else [data]
        return MaskFile([check_mask(f, path.name) for f in frames], Calibration())
    image = read_image(path, as_grey=False)  # float32 pixels: whole values are class ids
    data = np.asarray(image)
    if (data < 0).any() or not np.all(data == np.round(data)):
        raise PaintsegError(f"{path.name}: a mask must hold whole non-negative class ids")
    return MaskFile([check_mask(data.astype(np.int64), path.name)], image_calibration(image))


def _read_tiff_frames(path: Path, pixel_size_of) -> MaskFile:
    import tifffile

    from .io import max_pixels_default

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.series:
                raise PaintsegError(f"{path.name}: a TIFF with no image in it")
            series = tif.series[0]
            shape = series.shape
            if int(np.prod(shape[-2:])) > max_pixels_default():
                raise PaintsegError(f"{path.name}: too large ({'x'.join(map(str, shape))})")
            data = series.asarray()
            meta = tif.imagej_metadata or {}
            size, unit = pixel_size_of(tif.pages[0].tags, meta)
    except PaintsegError:
        raise
    except Exception as exc:  # tifffile's own exception types
        raise PaintsegError(f"{path.name}: cannot read ({str(exc).splitlines()[0][:100]})") from None
    if data.ndim == 2:
        frames = [data]
    elif data.ndim == 3 and data.shape[-1] not in (3, 4):
        frames = list(data)
    else:
        frames = [data]  # refused by check_mask with the reason
    frames = [check_mask(f, path.name) for f in frames]
    cal = Calibration()
    if size is not None and str(unit).strip().lower() in UNIT_TO_NM:
        cal = Calibration(float(size), normalise_unit(unit))
    times, time_unit = None, ""
    interval = meta.get("finterval")
    if len(frames) > 1 and interval:
        times = [i * float(interval) for i in range(len(frames))]
        time_unit = str(meta.get("tunit", "s")).replace("sec", "s")
    return MaskFile(frames, cal, times, time_unit)


def read_probability_frames(path: str | os.PathLike, n_frames: int) -> list[np.ndarray]:
    """Probability maps written by ``io.write_probabilities`` (one page per class, (K, H, W))
    as (H, W, K) arrays; a 4-D (T, K, H, W) TIFF gives one per frame."""
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise PaintsegError(f"probabilities not found: {path}")
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise PaintsegError(f"{path.name}: probability maps are read from TIFF files")
    try:
        data = tifffile.imread(path)
    except Exception as exc:
        raise PaintsegError(f"{path.name}: cannot read ({str(exc).splitlines()[0][:100]})") from None
    if data.ndim == 2:
        raise PaintsegError(f"{path.name} holds one page: probability maps have a page per class")
    stack = [data] if data.ndim == 3 else list(data) if data.ndim == 4 else None
    if stack is None or len(stack) != n_frames:
        raise PaintsegError(f"{path.name} holds probability maps for "
                            f"{len(stack) if stack else 0} frames, the mask {n_frames}")
    return [np.moveaxis(s, 0, -1) for s in stack]


def common_calibration(calibrations: Sequence[Calibration], names: Sequence[str]
                       ) -> list[Calibration]:
    """The calibrations of a series in one length unit (the first one's), so every area
    of a table shares a unit; a series where some images have a pixel size and others
    none is refused (its areas could not be added up or compared)."""
    known = [c for c in calibrations if c.known]
    if not known:
        return list(calibrations)
    if len(known) != len(calibrations):
        with_size = names[next(i for i, c in enumerate(calibrations) if c.known)]
        without = names[next(i for i, c in enumerate(calibrations) if not c.known)]
        raise PaintsegError(f"{with_size} has a pixel size and {without} has none: give the "
                            "pixel size (--pixel-size VALUE --unit UNIT) so all areas share a unit")
    return [c.to(known[0].unit) for c in calibrations]
