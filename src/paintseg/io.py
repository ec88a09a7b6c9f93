"""Reading images and writing masks / probability maps.

Everything that touches image files lives here. Readers return an ``Image``: a
2-D float32 NumPy array that also carries its pixel size, unit and name.
"""

from __future__ import annotations

import hashlib
import io as _io
import itertools
import logging
import os
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import PaintsegError, note, size_text
from .files import atomic_write_bytes

#: Images above this many pixels are refused before decoding. Override with the
#: PAINTSEG_MAX_PIXELS environment variable or the ``max_pixels`` argument.
DEFAULT_MAX_PIXELS = 16384 * 16384
MAX_FRAMES = 200  # frames of a stack opened at once for painting (the app)

PIL_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
TIFF_SUFFIXES = {".tif", ".tiff"}
RSCIIO_READERS = {
    ".dm3": "digitalmicrograph",
    ".dm4": "digitalmicrograph",
    ".emd": "emd",
    ".mrc": "mrc",
    ".ser": "tia",
}
SUPPORTED_SUFFIXES = PIL_SUFFIXES | TIFF_SUFFIXES | set(RSCIIO_READERS) | {".npy"}

#: A file's path, as a string or a path object.
PathLike = str | os.PathLike
#: What paintseg takes as an image: an array (grey, or RGB(A) on its last axis), an
#: ``Image`` with its pixel size, the path of an image file, or a HyperSpy 2-D signal
#: (taken as any object; ``as_image`` says what it cannot read).
ImageLike = np.ndarray | PathLike | object
#: A label or stroke mask: an integer array (0 = unlabelled) or the path of one.
MaskLike = np.ndarray | PathLike
UNIT_TO_NM = {"nm": 1.0, "µm": 1e3, "μm": 1e3, "um": 1e3, "å": 0.1, "a": 0.1, "angstrom": 0.1,
              "pm": 1e-3, "m": 1e9, "mm": 1e6}


class Image(np.ndarray):
    """A 2-D image array with ``pixel_size`` (float or None), ``unit`` and ``name``."""

    pixel_size: float | None
    unit: str
    name: str

    def __new__(cls, data, pixel_size=None, unit="px", name="image"):
        obj = np.asarray(data).view(cls)
        obj.pixel_size = pixel_size
        obj.unit = unit
        obj.name = name
        return obj

    def __array_finalize__(self, obj):
        self.pixel_size = getattr(obj, "pixel_size", None)
        self.unit = getattr(obj, "unit", "px")
        self.name = getattr(obj, "name", "image")

    def __reduce__(self):
        # NumPy pickles the array alone; the pixel size must travel with it (to the
        # app's worker processes, to Dask workers)
        constructor, args, state = super().__reduce__()
        return constructor, args, (state, self.pixel_size, self.unit, self.name)

    def __setstate__(self, state):
        array_state, self.pixel_size, self.unit, self.name = state
        super().__setstate__(array_state)

    @property
    def pixel_size_nm(self) -> float | None:
        """Pixel size in nanometres when the unit is a length, else None."""
        if self.pixel_size is None:
            return None
        factor = UNIT_TO_NM.get(self.unit.strip().lower())
        return None if factor is None else self.pixel_size * factor


def content_digest(image: np.ndarray) -> tuple:
    """A key for an image's content (a 16-byte hash of its pixels, its shape and dtype):
    what the feature and lattice caches recognise an image by.

    Remembered on an ``Image``, whose pixels are treated as fixed once made: hashing
    a 4096² float32 image takes 0.14 s, and every stroke of live mode asks again. A
    slice or copy of an Image is a new Image and is hashed afresh."""
    memo = image.__dict__.get("_digest") if isinstance(image, Image) else None
    if memo is not None:
        return memo
    pixels = np.ascontiguousarray(image)
    digest = (hashlib.blake2b(pixels.view(np.uint8), digest_size=16).digest(),
              pixels.shape, str(pixels.dtype))
    if isinstance(image, Image):
        image._digest = digest
    return digest


def max_pixels_default() -> int:
    """The size limit for images: ``$PAINTSEG_MAX_PIXELS``, else 16384²."""
    try:
        return int(os.environ.get("PAINTSEG_MAX_PIXELS", DEFAULT_MAX_PIXELS))
    except ValueError:
        return DEFAULT_MAX_PIXELS


def check_size(shape: Sequence[int], name: str, max_pixels: int) -> None:
    """Refuse an image above ``max_pixels`` or below 2 px a side, in one line."""
    h, w = int(shape[0]), int(shape[1])
    if h * w > max_pixels:
        raise PaintsegError(
            f"{name} is {size_text((h, w))} pixels, over the limit of {max_pixels:,} "
            "(set PAINTSEG_MAX_PIXELS to raise it)"
        )
    if h < 2 or w < 2:
        raise PaintsegError(f"{name} is {size_text((h, w))} pixels: too small to segment")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Stretch an image to 8 bits over its 0.1-99.9 percentile range (for display)."""
    lo, hi = np.percentile(image, [0.1, 99.9])
    return np.clip((image - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)


def to_grey(data: np.ndarray) -> np.ndarray:
    """Luminance of an RGB(A) image; 2-D images pass through."""
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        rgb = data[..., :3].astype(np.float32)
        return rgb @ np.array([0.2125, 0.7154, 0.0721], np.float32)
    if data.ndim == 3 and data.shape[-1] == 2:  # grey + alpha
        return data[..., 0].astype(np.float32)
    if data.ndim == 3:  # a stack: the first page
        return data[0].astype(np.float32)
    return data.astype(np.float32)


def _read_pil(source, name: str, max_pixels: int, indices: bool = False) -> np.ndarray:
    """Pixels of a Pillow-readable file; a palette image gives its indices when
    ``indices`` (masks: the values are class ids, the palette only their colours)."""
    from PIL import Image as PILImage

    PILImage.MAX_IMAGE_PIXELS = None  # we check the size ourselves, before decoding
    with PILImage.open(source) as im:
        check_size((im.height, im.width), name, max_pixels)
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F") or (indices and im.mode == "P"):
            data = np.array(im)
        else:
            data = np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"
                                         if im.mode not in ("L", "LA") else im.mode))
    return data


def _read_tiff(source, name: str, max_pixels: int) -> tuple[np.ndarray, float | None, str]:
    import tifffile

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)  # errors are raised, not logged
    with tifffile.TiffFile(source) as tif:
        if len(tif.pages) == 0:
            raise PaintsegError(f"{name}: cannot read image (a TIFF with no image in it)")
        page = tif.pages[0]
        shape = page.shape
        spatial = shape[:2] if not (len(shape) == 3 and shape[0] in (3, 4)) else shape[1:]
        check_size(spatial, name, max_pixels)
        if int(np.prod(shape, dtype=np.float64)) > 4 * max_pixels:  # samples or planes beyond RGBA
            raise PaintsegError(f"{name} holds {'x'.join(map(str, shape))} values, over the limit "
                                f"of {max_pixels:,} pixels of up to 4 samples")
        _note_other_series(tif, name)
        data = page.asarray()
        if data.ndim == 3 and data.shape[0] in (3, 4) and data.shape[-1] not in (3, 4):
            data = np.moveaxis(data, 0, -1)
        if data.ndim == 3 and page.axes.endswith("S") and data.shape[-1] > 4:
            data = data[..., 0]  # extra samples per pixel: the first one, not a stack's page
        pixel_size, unit = tiff_pixel_size(page.tags, tif.imagej_metadata or {})
    return data, pixel_size, unit


def _note_other_series(tif, name: str) -> None:
    """Say so when a TIFF holds images of other sizes or kinds (a thumbnail, a second
    channel of another size) beside the first series, which is all that is opened."""
    if len(tif.series) > 1:
        others = ", ".join(size_text(s.shape[-3:-1] if s.axes.endswith("S") else s.shape[-2:])
                           for s in tif.series[1:4])
        more = " …" if len(tif.series) > 4 else ""
        note(f"{name}: only its first image series is opened; it also holds "
             f"{len(tif.series) - 1} other ({others}{more})", stacklevel=3)


def tiff_pixel_size(tags, imagej: dict) -> tuple[float | None, str]:
    """Pixel size from ImageJ's unit + resolution, or a centimetre resolution."""
    if "XResolution" not in tags:
        return None, "px"
    num, den = tags["XResolution"].value
    if not num or not den or num == den:
        return None, "px"
    unit = str(imagej.get("unit", "")).replace("micron", "µm").replace("\\u00B5", "µ")
    if unit and unit not in ("pixel", "px"):
        return den / num, unit
    res_unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 1
    if res_unit == 3:  # pixels per centimetre
        return 1e7 * den / num, "nm"
    return None, "px"


def write_tiff_image(path: PathLike, image: np.ndarray, pixel_size: float | None = None,
                     unit: str = "nm") -> Path:
    """Write an image as TIFF (ImageJ flavour, so Fiji reads the pixel size too)."""
    import tifffile

    path = Path(path)
    buffer = _io.BytesIO()
    kwargs = {}
    if pixel_size:
        kwargs = {"resolution": (1.0 / pixel_size, 1.0 / pixel_size),
                  "metadata": {"unit": unit}}
    tifffile.imwrite(buffer, np.asarray(image), imagej=True, **kwargs)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _read_rsciio(path: Path, name: str, max_pixels: int) -> tuple[np.ndarray, float | None, str]:
    import importlib

    if path.suffix.lower() == ".mrc":
        _check_mrc_header(path, name, max_pixels)
    if path.suffix.lower() in (".dm3", ".dm4"):
        _guard_dm_structs()
    reader = importlib.import_module(f"rsciio.{RSCIIO_READERS[path.suffix.lower()]}")
    signals = reader.file_reader(str(path), lazy=True)
    for signal in signals:
        axes = signal["axes"]
        signal_axes = [a for a in axes if not a.get("navigate", False)]
        if len(signal_axes) != 2 or signal["data"].ndim < 2:
            continue
        data = signal["data"]
        check_size(data.shape[-2:], name, max_pixels)
        while data.ndim > 2:  # a stack: the first frame
            data = data[0]
        data = np.asarray(data.compute() if hasattr(data, "compute") else data)
        scale = float(signal_axes[-1].get("scale", 1.0))
        unit = str(signal_axes[-1].get("units") or "").strip()
        if unit.lower() not in UNIT_TO_NM or not np.isfinite(scale) or scale <= 0:
            return data, None, "px"  # uncalibrated ('', '[]', '<undefined>', 'px', 1/nm...)
        return data, scale, unit
    raise PaintsegError(f"{name} holds no 2-D image")


MRC_MODE_BYTES = {0: 1, 1: 2, 2: 4, 3: 4, 4: 8, 6: 2, 12: 2, 101: 0.5}


MAX_DM_STRUCT_FIELDS = 1024  # real DM structs have a handful (complex: 2, RGBA: 4)


def _guard_dm_structs() -> None:
    """Refuse DM tag structs with an implausible number of fields before rosettasciio
    reads them: it builds the field list by tuple concatenation, quadratic in a count
    taken from the file, and a damaged count kept a 1 MB file busy for minutes."""
    from rsciio.digitalmicrograph import _api

    reader = _api.DigitalMicrographReader
    if getattr(reader, "_fields_checked", False):
        return
    parse = reader.parse_struct_definition

    def parse_struct_definition(self):
        start = self.f.tell()
        self.read_l_or_q(self.f, "big")
        fields = self.read_l_or_q(self.f, "big")
        if not 0 <= fields <= MAX_DM_STRUCT_FIELDS:
            raise PaintsegError(f"damaged DM file: a tag struct declares {fields} fields")
        self.f.seek(start)
        return parse(self)

    reader.parse_struct_definition = parse_struct_definition
    reader._fields_checked = True


def _check_mrc_header(path: Path, name: str, max_pixels: int) -> None:
    """Refuse an MRC file whose header declares more pixels than the limit, or more data
    than the file holds, before rosettasciio lays out chunks for that size (which takes
    seconds to minutes for a damaged header that declares billions of frames)."""
    with open(path, "rb") as f:
        header = f.read(1024)
    if len(header) < 1024:
        raise PaintsegError(f"{name}: cannot read image (shorter than an MRC header)")
    order = ">" if header[212:214] == b"\x11\x11" else "<"  # MACHST: big- or little-endian
    nx, ny, nz, mode = struct.unpack(order + "4i", header[:16])
    (extended,) = struct.unpack(order + "i", header[92:96])
    check_size((ny, nx), name, max_pixels)
    declared = nx * ny * max(nz, 1) * MRC_MODE_BYTES.get(mode, 1) + 1024 + max(extended, 0)
    if nz < 0 or declared > path.stat().st_size:
        raise PaintsegError(f"{name}: cannot read image (its header declares {nx}x{ny}x{nz} values, "
                            "more than the file holds)")


def read_image(path: PathLike, *, max_pixels: int | None = None, as_grey: bool = True) -> Image:
    """Read an image file as a 2-D float32 ``Image`` with its pixel size.

    PNG, JPEG, BMP, TIFF (8/16-bit, float), NumPy .npy, and electron-microscopy
    files (DM3, DM4, EMD, MRC, SER) through rosettasciio. RGB is converted to
    luminance. Files above ``max_pixels`` are refused before they are decoded.
    """
    if not isinstance(path, str | os.PathLike):
        raise PaintsegError(f"expected an image file path, got {type(path).__name__}")
    path = Path(path)
    name = path.name
    if max_pixels is None:
        max_pixels = max_pixels_default()
    if not path.exists():
        raise PaintsegError(f"file not found: {path}")
    if path.is_dir():
        raise PaintsegError(f"{path} is a folder, not an image file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise PaintsegError(
            f"{name}: unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    return _decode(path, suffix, name, max_pixels, as_grey)


def read_frames(path: PathLike, *, max_pixels: int | None = None) -> Iterator[Image]:
    """Each 2-D frame of an image file, read one at a time: the pages of a multi-page
    or 3-D TIFF, the frames of a DM/EMD/MRC/SER series, the planes of a 3-D .npy,
    else the one image. Frames are named ``file [k/n]`` and keep the pixel size."""
    path = Path(path)
    if max_pixels is None:
        max_pixels = max_pixels_default()
    suffix = path.suffix.lower()
    count = _frame_count(path, suffix) if path.is_file() else 1
    if count <= 1:
        yield read_image(path, max_pixels=max_pixels)
        return
    # the file's pixel size; frame 1 of an EM series through read_image and its checks
    first = read_image(path, max_pixels=max_pixels) if suffix in RSCIIO_READERS else None
    pixel_size, unit = (first.pixel_size, first.unit) if first is not None else (
        _tiff_calibration(path) if suffix in TIFF_SUFFIXES else (None, "px"))
    for k in range(count):
        try:
            data = first if k == 0 and first is not None else _read_frame(path, suffix, k)
        except PaintsegError:
            raise
        except Exception as exc:  # each decoder has its own exception types
            raise PaintsegError(f"{path.name}: cannot read frame {k + 1} "
                                f"({exc.__class__.__name__})") from None
        yield _to_image(np.asarray(data), pixel_size, unit, f"{path.name} [{k + 1}/{count}]",
                        max_pixels)


def _tiff_calibration(path: Path) -> tuple[float | None, str]:
    """A TIFF stack's pixel size (its first page's), said once before its frames are read."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        _note_other_series(tif, path.name)
        return tiff_pixel_size(tif.pages[0].tags, tif.imagej_metadata or {})


def _frame_count(path: Path, suffix: str) -> int:
    """How many 2-D frames a file holds (1 when it is not a stack or cannot tell)."""
    try:
        if suffix in TIFF_SUFFIXES:
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tif.series[0].shape if tif.series else ()
                plane, _ = _tiff_plane(tif, shape)
                return int(np.prod(shape[: len(shape) - plane], dtype=np.int64)) or 1
        if suffix == ".npy":
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
            return int(np.prod(shape[:-2], dtype=np.int64)) if len(shape) > 2 else 1
        if suffix in RSCIIO_READERS:
            data = _rsciio_stack(path)
            return int(np.prod(data.shape[:-2], dtype=np.int64)) if data is not None else 1
    except Exception:  # read_image says what is wrong with the file
        return 1
    return 1


def _tiff_plane(tif, shape: tuple) -> tuple[int, bool]:
    """How many trailing axes of a TIFF series make one frame (3 for colour pages: their
    samples, stored after the pixels or, planar, before them) and whether the samples
    come first."""
    axes = tif.pages[0].axes
    if "S" in axes and "Y" in axes and len(shape) >= 3 and axes.index("S") < axes.index("Y"):
        if shape[-3] in (3, 4):  # planar colour; other sample counts are frames
            return 3, True
        return 2, False
    return (3 if len(shape) >= 3 and (shape[-1] in (3, 4) or axes.endswith("S")) else 2), False


def _read_frame(path: Path, suffix: str, k: int) -> np.ndarray:
    if suffix in TIFF_SUFFIXES:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape = series.shape
            plane, samples_first = _tiff_plane(tif, shape)
            index = np.unravel_index(k, shape[: len(shape) - plane])
            data = series.asarray(key=k) if len(tif.pages) > 1 else series.asarray()[index]
            return np.moveaxis(data, 0, -1) if samples_first and data.ndim == 3 else data
    if suffix == ".npy":
        data = np.load(path, mmap_mode="r", allow_pickle=False)
        return np.asarray(data.reshape(-1, *data.shape[-2:])[k])
    data = _rsciio_stack(path)
    frame = data.reshape(-1, *data.shape[-2:])[k]
    return np.asarray(frame.compute() if hasattr(frame, "compute") else frame)


def _rsciio_stack(path: Path):
    """The lazy data of the first 2-D-signal of a rosettasciio file, or None."""
    import importlib

    reader = importlib.import_module(f"rsciio.{RSCIIO_READERS[path.suffix.lower()]}")
    for signal in reader.file_reader(str(path), lazy=True):
        axes = [a for a in signal["axes"] if not a.get("navigate", False)]
        if len(axes) == 2 and signal["data"].ndim >= 2:
            return signal["data"]
    return None


def read_image_bytes(data: bytes, filename: str, *, max_pixels: int | None = None) -> Image:
    """Read an uploaded image from memory (rosettasciio formats via a temp file)."""
    with _as_file(data, filename) as path:
        return read_image(path, max_pixels=max_pixels)


def read_frames_bytes(data: bytes, filename: str, *, max_pixels: int | None = None,
                      max_frames: int = MAX_FRAMES) -> list[Image]:
    """The frames of an uploaded file (see ``read_frames``), at most ``max_frames``."""
    with _as_file(data, filename) as path:
        return list(itertools.islice(read_frames(path, max_pixels=max_pixels), max_frames))


def read_mask_bytes(data: bytes, filename: str) -> np.ndarray:
    """A mask from uploaded bytes (see ``read_mask``)."""
    with _as_file(data, filename) as path:
        return read_mask(path)


@contextmanager
def _as_file(data: bytes, filename: str) -> Iterator[Path]:
    """Uploaded bytes as a temporary file of the same name (the readers want a path);
    an unsupported type is refused before anything is written."""
    import tempfile

    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise PaintsegError(
            f"{filename}: unsupported file type '{suffix or '(none)'}'; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(filename).name
        path.write_bytes(data)
        try:
            yield path
        except PaintsegError as exc:  # named as the user knows it, not by its copy
            raise PaintsegError(str(exc).replace(str(path), path.name)) from None


def as_image(source: ImageLike, *, name: str | None = None, max_pixels: int | None = None) -> Image:
    """Whatever paintseg accepts as an image, as its ``Image``: the one place inputs
    become images, so the app, the notebook and ``Segmenter`` take the same things.

    An ``Image`` is returned as it is; a path is read with ``read_image``; a HyperSpy
    signal (any object with ``.data`` and ``.axes_manager``, recognised without
    importing HyperSpy) keeps its calibration; any other array is a grey or RGB image.
    """
    if isinstance(source, Image) and source.dtype == np.float32 and source.ndim == 2:
        return source
    if max_pixels is None:
        max_pixels = max_pixels_default()
    if isinstance(source, str | os.PathLike):
        return read_image(source, max_pixels=max_pixels)
    if is_signal(source):
        return _signal_image(source, name, max_pixels)
    data = np.asarray(source)
    if data.dtype == object:
        raise PaintsegError(f"expected an image (a file path, a NumPy array or a HyperSpy Signal2D), "
                            f"got {type(source).__name__}")
    if isinstance(source, Image):  # an Image turned into another type: keep its calibration
        return _to_image(data, source.pixel_size, source.unit, name or source.name, max_pixels)
    return _to_image(data, None, "px", name or "image", max_pixels)


def is_signal(obj: object) -> bool:
    """Whether ``obj`` looks like a HyperSpy signal (``.data`` and ``.axes_manager``)."""
    return hasattr(obj, "data") and hasattr(obj, "axes_manager")


def _signal_image(signal, name: str | None, max_pixels: int) -> Image:
    """A HyperSpy Signal2D's image (the first frame of a stack) with its pixel size."""
    name = name or _signal_title(signal)
    axes = list(getattr(signal.axes_manager, "signal_axes", ()))
    if len(axes) != 2:
        raise PaintsegError(f"{name}: a signal with {len(axes)} signal axes; paintseg needs a 2-D "
                            "image (a Signal2D, e.g. signal.as_signal2D((0, 1)))")
    data = signal.data
    if getattr(data, "ndim", 0) < 2:
        raise PaintsegError(f"{name}: the signal holds no 2-D image")
    check_size(data.shape[-2:], name, max_pixels)
    while data.ndim > 2:  # a stack: the first frame, as for files
        data = data[0]
    data = np.asarray(data.compute() if hasattr(data, "compute") else data)  # lazy signals
    scale, unit = float(getattr(axes[0], "scale", 1.0)), str(getattr(axes[0], "units", "")).strip()
    if unit.lower() not in UNIT_TO_NM or not np.isfinite(scale) or scale <= 0:
        return _to_image(data, None, "px", name, max_pixels)  # uncalibrated, or not a length
    return _to_image(data, scale, unit, name, max_pixels)


def _signal_title(signal) -> str:
    """The signal's title, else its original file name, else 'signal'."""
    general = getattr(getattr(signal, "metadata", None), "General", None)
    for key in ("title", "original_filename"):
        value = getattr(general, key, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "signal"


def _decode(path: Path, suffix: str, name: str, max_pixels: int, as_grey: bool) -> Image:
    pixel_size, unit = None, "px"
    try:
        if suffix in PIL_SUFFIXES:
            data = _read_pil(path, name, max_pixels, indices=not as_grey)
        elif suffix in TIFF_SUFFIXES:
            data, pixel_size, unit = _read_tiff(path, name, max_pixels)
        elif suffix == ".npy":
            data = np.load(path, allow_pickle=False, mmap_mode="r")
            if data.ndim < 2:
                raise PaintsegError(f"{name}: expected a 2-D image, got shape {data.shape}")
            check_size(data.shape[:2], name, max_pixels)
            data = np.asarray(data)
        else:
            data, pixel_size, unit = _read_rsciio(path, name, max_pixels)
    except PaintsegError:
        raise
    except MemoryError:
        raise PaintsegError(f"{name}: not enough memory to decode this image") from None
    except Exception as exc:  # every decoder has its own exception types
        detail = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise PaintsegError(f"{name}: cannot read image ({detail})") from None
    return _to_image(data, pixel_size, unit, name, max_pixels, as_grey)


def _to_image(data: np.ndarray, pixel_size: float | None, unit: str, name: str, max_pixels: int,
              as_grey: bool = True) -> Image:
    """Decoded pixels -> a checked 2-D float32 ``Image`` (grey, finite, within the size limit)."""
    if data.dtype == bool:
        data = data.astype(np.uint8)
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise PaintsegError(f"{name}: unsupported pixel type {data.dtype}")
    if data.dtype.kind == "f" and data.dtype.itemsize > 4:
        data = _beyond_float32_as_nan(data)
    grey = to_grey(data) if as_grey else data.astype(np.float32)
    if grey.ndim != 2:
        raise PaintsegError(f"{name}: expected a 2-D image, got shape {grey.shape}")
    check_size(grey.shape, name, max_pixels)
    if not np.isfinite(grey).all():
        grey = _fill_non_finite(grey, name, as_grey)
    return Image(np.ascontiguousarray(grey, dtype=np.float32), pixel_size, unit, name)


def _beyond_float32_as_nan(data: np.ndarray) -> np.ndarray:
    """Values 32-bit floats (what every filter computes in) cannot hold, as NaN: a
    float64 sentinel of a dead pixel is filled like any NaN, not cast to infinity."""
    with np.errstate(invalid="ignore"):
        beyond = np.abs(data) > float(np.finfo(np.float32).max)
    return np.where(beyond, np.nan, data) if beyond.any() else data


def _fill_non_finite(grey: np.ndarray, name: str, as_grey: bool) -> np.ndarray:
    """An image's NaN / infinite pixels set to its median, with a warning; a mask (or an
    image with no finite pixel at all) is refused instead."""
    finite = np.isfinite(grey)
    if not as_grey:
        raise PaintsegError(f"{name}: a mask must hold whole non-negative class ids, not NaN "
                            "or infinite values")
    if not finite.any():
        raise PaintsegError(f"{name}: no pixel has a finite value (all NaN, infinite or beyond "
                            "32-bit floats)")
    count = int((~finite).sum())
    note(f"{name}: {count:,} {'pixel is' if count == 1 else 'pixels are'} NaN, infinite or beyond 32-bit "
         "floats: set to the image's median", stacklevel=2)
    return np.where(finite, grey, np.float32(np.median(grey[finite])))


def read_mask(path: PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read a single-channel label / stroke mask (0 = unlabelled) as integers."""
    path = Path(path)
    image = read_image(path, max_pixels=max_pixels, as_grey=False)
    data = np.asarray(image)
    if data.ndim != 2:
        raise PaintsegError(f"{path.name}: a mask must have one channel, got shape {data.shape}")
    if (data < 0).any() or not np.all(data == np.round(data)):
        raise PaintsegError(f"{path.name}: a mask must hold whole non-negative class ids")
    return data.astype(np.int64 if data.max(initial=0) > 65535 else np.uint16)


def label_dtype_for(top: int) -> np.dtype:
    """The smallest unsigned type that holds class ids up to ``top``: masks are written
    in it, and every tile or frame of one mask shares it."""
    return np.dtype(np.uint8 if top < 256 else np.uint16 if top < 65536 else np.uint32)


def encode_mask(mask: np.ndarray, suffix: str, colours: dict[int, str] | None = None) -> bytes:
    """PNG or TIFF bytes of a label mask.

    PNG (up to 255 classes) is a palette image: its values stay the class ids, and
    any viewer shows class k in its colour (``colours`` or the default palette)
    instead of the near-black grey values 1..K.
    """
    mask = np.asarray(mask)
    suffix = suffix.lower()
    top = int(mask.max(initial=0))
    if suffix == ".png":
        from PIL import Image as PILImage

        if top > 255:
            raise PaintsegError(f"class id {top} does not fit in an 8-bit PNG mask; use .tif")
        from .colours import palette

        image = PILImage.fromarray(mask.astype(np.uint8), mode="P")
        image.putpalette(palette(colours))
        buffer = _io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    if suffix in TIFF_SUFFIXES:
        import tifffile

        buffer = _io.BytesIO()
        tifffile.imwrite(buffer, mask.astype(label_dtype_for(top)), compression="zlib")
        return buffer.getvalue()
    raise PaintsegError(f"masks are written as .png or .tif, not '{suffix}'")


def write_mask(path: PathLike, mask: np.ndarray, colours: dict[int, str] | None = None) -> Path:
    """Write a label mask atomically; the format follows the file extension."""
    path = Path(path)
    atomic_write_bytes(path, encode_mask(mask, path.suffix, colours))
    return path


def encode_probabilities(proba: np.ndarray, class_names: Sequence[str] | None = None) -> bytes:
    """Float32 multi-page TIFF bytes, one page per class, of an (H, W, K) array."""
    import tifffile

    buffer = _io.BytesIO()
    pages = np.moveaxis(np.asarray(proba, np.float32), -1, 0)
    meta = {"axes": "CYX"}
    if class_names:
        meta["classes"] = list(map(str, class_names))
    tifffile.imwrite(buffer, pages, metadata=meta, compression="zlib", photometric="minisblack")
    return buffer.getvalue()


def write_probabilities(path: PathLike, proba: np.ndarray,
                        class_names: Sequence[str] | None = None) -> Path:
    """Write probability maps as a float32 TIFF, one page per class, atomically."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        raise PaintsegError(f"probabilities are written as .tif, not '{path.suffix}'")
    atomic_write_bytes(path, encode_probabilities(proba, class_names))
    return path
