"""Huge images read and written tile by tile: tiled TIFF / BigTIFF and (OME-)Zarr.

A 16k x 16k montage is 0.5 GB as 16-bit pixels and its feature stack would be 60
times that, so ``batch`` predicts it through ``tiles`` without ever holding it whole:
``open_lazy`` gives a ``LazyImage`` that reads only the part sliced (a Zarr view of
the TIFF's own tiles or strips, through tifffile, or a Zarr array), and
``write_label_tiles`` writes the mask as the tiles finish, as a tiled, compressed
BigTIFF or a Zarr array, under a temporary name renamed on success.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import PaintsegError
from .files import replaced_on_success
from .io import TIFF_SUFFIXES, check_size, max_pixels_default, tiff_pixel_size

LAZY_PIXELS = 8192 * 8192  # TIFFs this large are read tile by tile (tiled ones always)
ZARR_SUFFIX = ".zarr"
OME_UNITS = {"micrometer": "µm", "nanometer": "nm", "angstrom": "Å", "millimeter": "mm"}


class LazyImage:
    """A 2-D grey image on disk, read only where it is sliced.

    Slicing returns float32 NumPy arrays with NaN and infinities replaced by 0 (a tile
    cannot know the whole image's median, which ``io.read_image`` fills NaN with).
    Close it (or use ``with``) to release the file.
    """

    def __init__(self, array, pixel_size: float | None, unit: str, name: str,
                 closer=None) -> None:
        self._array = array
        self.pixel_size = pixel_size
        self.unit = unit
        self.name = name
        self._closer = closer

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(n) for n in self._array.shape)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    def __getitem__(self, key) -> np.ndarray:
        block = np.asarray(self._array[key], dtype=np.float32)
        if not np.isfinite(block).all():
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        return block

    def close(self) -> None:
        """Close the file under the image (safe to call twice)."""
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> LazyImage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_zarr(path: Path | str) -> bool:
    """A Zarr store (a folder named ``*.zarr``)."""
    path = Path(path)
    return path.suffix.lower() == ZARR_SUFFIX and path.is_dir()


def open_lazy(path: Path | str, *, min_pixels: int = LAZY_PIXELS,
              max_pixels: int | None = None) -> LazyImage | None:
    """A ``LazyImage`` for a Zarr store, a tiled TIFF, or a single-frame grey TIFF of
    at least ``min_pixels``; None for anything else (read it whole instead)."""
    path = Path(path)
    max_pixels = max_pixels_default() if max_pixels is None else max_pixels
    try:
        if is_zarr(path):
            return _open_zarr(path, max_pixels)
        if path.suffix.lower() in TIFF_SUFFIXES and path.is_file():
            return _open_tiff(path, min_pixels, max_pixels)
    except PaintsegError:
        raise
    except Exception as exc:  # each reader has its own exception types
        detail = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise PaintsegError(f"{path.name}: cannot read image ({detail})") from None
    return None


def _open_tiff(path: Path, min_pixels: int, max_pixels: int) -> LazyImage | None:
    import tifffile
    import zarr

    tif = tifffile.TiffFile(path)
    try:
        series = tif.series[0] if tif.series else None
        page = tif.pages[0] if len(tif.pages) else None
        if series is None or page is None or len(series.shape) != 2:
            tif.close()
            return None  # stacks, RGB, empty files: read whole, frame by frame
        if not page.is_tiled and int(np.prod(series.shape)) < min_pixels:
            tif.close()
            return None
        check_size(series.shape, path.name, max_pixels)
        pixel_size, unit = tiff_pixel_size(page.tags, tif.imagej_metadata or {})
        store = series.aszarr(level=0)
        array = zarr.open_array(store, mode="r")
    except BaseException:
        tif.close()
        raise

    def close() -> None:
        store.close()
        tif.close()

    return LazyImage(array, pixel_size, unit, path.name, close)


def _open_zarr(path: Path, max_pixels: int) -> LazyImage:
    import zarr

    node = zarr.open(str(path), mode="r")
    pixel_size, unit = None, "px"
    if not hasattr(node, "shape"):  # a group: OME-Zarr's multiscales, level 0
        multiscales = node.attrs.get("multiscales") or node.attrs.get("ome", {}).get("multiscales")
        if not multiscales:
            raise PaintsegError(f"{path.name}: a Zarr group without OME multiscales; "
                                "give the array's own folder")
        first = multiscales[0]
        dataset = first["datasets"][0]
        pixel_size, unit = _ome_pixel_size(first.get("axes", []), dataset)
        node = node[dataset["path"]]
    shape = tuple(node.shape)
    if len(shape) < 2 or any(n != 1 for n in shape[:-2]):
        raise PaintsegError(f"{path.name}: expected one 2-D image, got an array of shape {shape}")
    check_size(shape[-2:], path.name, max_pixels)
    if len(shape) > 2:
        node = _Plane(node, len(shape) - 2)
    return LazyImage(node, pixel_size, unit, path.name)


class _Plane:
    """The last two axes of an array whose leading axes are all of length one."""

    def __init__(self, array, leading: int) -> None:
        self._array, self._leading = array, leading
        self.shape = tuple(array.shape[-2:])

    def __getitem__(self, key):
        return self._array[(0,) * self._leading + tuple(key)]


def _ome_pixel_size(axes: list, dataset: dict) -> tuple[float | None, str]:
    """Pixel size along x from OME-Zarr's axes units and the level's scale."""
    if not axes:
        return None, "px"
    last = axes[-1] if isinstance(axes[-1], dict) else {}
    unit = OME_UNITS.get(str(last.get("unit", "")).lower())
    scales = [t.get("scale") for t in dataset.get("coordinateTransformations", [])
              if t.get("type") == "scale"]
    if unit is None or not scales or not scales[0]:
        return None, "px"
    return float(scales[0][-1]), unit


# -- writing ------------------------------------------------------------------------------------
def write_label_tiles(target: Path, shape: tuple[int, int], side: int, dtype,
                      tiles: Iterable[np.ndarray]) -> Path:
    """Write a mask from its tiles (``side`` x ``side``, row by row, the last of each
    row and column cut short) as they come: a Zarr array for a ``.zarr`` target, else
    a tiled, zlib-compressed BigTIFF (``.png`` targets become ``.tif``)."""
    target = Path(target)
    if target.suffix.lower() == ZARR_SUFFIX:
        return _write_zarr(target, shape, side, dtype, tiles)
    if target.suffix.lower() not in TIFF_SUFFIXES:
        target = target.with_suffix(".tif")
    import tifffile

    with replaced_on_success(target) as part:
        tifffile.imwrite(part, data=iter(tiles), shape=tuple(shape), dtype=dtype,
                         tile=(side, side), compression="zlib", bigtiff=True,
                         photometric="minisblack")
    return target


def write_label_array(target: Path, labels: np.ndarray, side: int = 1024) -> Path:
    """Write a mask held in memory the way ``write_label_tiles`` writes one by tiles."""
    h, w = labels.shape
    tiles = (labels[r:r + side, c:c + side] for r in range(0, h, side) for c in range(0, w, side))
    return write_label_tiles(target, labels.shape, side, labels.dtype, tiles)


def write_label_stack(target: Path, frames: list[np.ndarray], side: int = 1024) -> Path:
    """Write a stack's masks (frames of one size) as one (frames, rows, columns) Zarr
    array chunked one frame at a time: what a ``.zarr`` target holds for a stack."""
    import zarr

    n, (h, w) = len(frames), frames[0].shape
    dtype = np.result_type(*frames)  # each frame's own type fits only its own labels
    with replaced_on_success(target) as part:
        array = zarr.open_array(str(part), mode="w", shape=(n, h, w),
                                chunks=(1, min(side, h), min(side, w)), dtype=dtype)
        for i, frame in enumerate(frames):
            array[i] = frame
    return target


def _write_zarr(target: Path, shape, side: int, dtype, tiles: Iterable[np.ndarray]) -> Path:
    import zarr

    h, w = shape
    with replaced_on_success(target) as part:
        array = zarr.open_array(str(part), mode="w", shape=tuple(shape), chunks=(side, side),
                                dtype=dtype)
        positions = ((r, c) for r in range(0, h, side) for c in range(0, w, side))
        for (r, c), block in zip(positions, tiles, strict=True):
            array[r:r + block.shape[0], c:c + block.shape[1]] = block
    return target
