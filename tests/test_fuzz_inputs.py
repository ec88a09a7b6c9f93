"""Image and stroke files from untrusted hands: every one ends in an image or one clear error.

The contract of ``read_image_bytes``, ``read_mask`` and ``Session.import_strokes``, for
any bytes under any supported name: a valid result (a finite 2-D float32 image within
the pixel limit; a stroke mask of the image's shape with known class ids) or a
one-line ``PaintsegError``. Never another exception, never a hang (each call runs
under a watchdog and a hypothesis deadline), and memory bounded: fuzzing runs under
a reading limit of ``FUZZ_MAX_PIXELS`` and the process's peak RSS may grow by at most
``FUZZ_MEMORY_MB``; a file that declares 100000x100000 pixels is refused before
anything of that size is allocated (checked in a child process under an address-space
limit). Seeds are real files of the shared data folder (skipped when absent) and small
files generated here; they are mutated by byte flips, truncation, integers written over
header fields, splices, and replaced by random bytes. The file runs in about a minute.
"""

from __future__ import annotations

import faulthandler
import io
import json
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import SHARED_DATA, shared
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from paintseg import PaintsegError
from paintseg.app.state import Session
from paintseg.io import Image, encode_mask, read_image_bytes, read_mask

FUZZ_MAX_PIXELS = 1 << 20  #: the reading limit while fuzzing (a 1024x1024 image)
FUZZ_MEMORY_MB = 400  #: allowed growth of the peak RSS over all fuzzed reads
CALL_SECONDS = 10  #: a call still running after this is a hang (the watchdog stops it)
HUGE = 100_000  #: the declared side of the oversized files
INTERESTING_INTS = [0, 1, 2, 3, 255, 256, 65535, HUGE, 2**31 - 1, 2**32 - 1]
# derandomize: the suite runs the same examples every time (explore with --hypothesis-seed
# and settings changed locally; add what fails as an @example or a named case)
FUZZ = settings(max_examples=40, deadline=5000, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SHARED_SEEDS = {
    "test-1.dm3": "microscope-files/test-1.dm3",
    "test-1.dm4": "microscope-files/test-1.dm4",
    "multi_signal.dm3": "microscope-files/multi_signal.dm3",
    "example_image.emd": "microscope-files/example_image.emd",
    "fei_example_tem_stack.emd": "microscope-files/fei_example_tem_stack.emd",
    "HAADFscan.mrc": "microscope-files/HAADFscan.mrc",
    "tem.ser": "microscope-files/64x64_TEM_images_acquire_1.ser",
    "isbi_label.png": "isbi2012/label/0.png",
    "moo3.jpg": "seed/MoO3-crystals-ADF-STEM.jpg",
    "haadf.tif": "real-stem/high-entropy-alloy-HAADF.tif",
}


# -- the watchdog ----------------------------------------------------------------------------
class Hang(BaseException):  # noqa: N818 - not an Exception: no reader's "except Exception" hides it
    """Raised in the main thread by the watchdog when a call runs too long."""


@contextmanager
def watchdog(seconds: float = CALL_SECONDS):
    """Stop a call that runs longer than ``seconds``: a SIGALRM interrupts Python code;
    if native code never returns, faulthandler ends the process with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(*_):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(4 * seconds, exit=True)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- seeds -------------------------------------------------------------------------------------
def _tiff(data: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, **kwargs)
    return buffer.getvalue()


def _png(data: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(data).save(buffer, format="PNG")
    return buffer.getvalue()


def _npy(data: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, data)
    return buffer.getvalue()


def generated_seeds() -> dict[str, bytes]:
    """Small files of every format paintseg writes or that Pillow / tifffile / NumPy make."""
    rng = np.random.default_rng(7)
    grey = (rng.random((24, 20)) * 255).astype(np.uint8)
    wide = (rng.random((24, 20)) * 60000).astype(np.uint16)
    floats = rng.random((24, 20)).astype(np.float32)
    return {
        "grey.png": _png(grey),
        "u16.png": _png(wide),
        "rgb.png": _png((rng.random((24, 20, 3)) * 255).astype(np.uint8)),
        "u16.tif": _tiff(wide),
        "f32.tif": _tiff(floats, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "nm"}),
        "pages.tif": _tiff(rng.random((3, 24, 20)).astype(np.float32), photometric="minisblack"),
        "zlib.tif": _tiff(grey, compression="zlib"),
        "f32.npy": _npy(floats),
        "u16.npy": _npy(wide),
    }


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return generated_seeds()


@pytest.fixture(scope="module")
def memory_baseline():
    """Peak RSS before fuzzing, with every reader imported (imports are not growth)."""
    for name, blob in generated_seeds().items():
        read_image_bytes(blob, name)
    for path in ("microscope-files/test-1.dm3", "microscope-files/example_image.emd",
                 "microscope-files/HAADFscan.mrc", "microscope-files/64x64_TEM_images_acquire_1.ser"):
        if (SHARED_DATA / path).exists():
            read_image_bytes((SHARED_DATA / path).read_bytes(), Path(path).name)
    return peak_rss_mb()


def seed_bytes(name: str, seeds: dict[str, bytes]) -> bytes:
    """A seed by its name: generated here, or read from the shared folder (else skipped)."""
    if name in seeds:
        return seeds[name]
    return shared(*SHARED_SEEDS[name].split("/")).read_bytes()


# -- mutations -----------------------------------------------------------------------------------
@st.composite
def mutated(draw, blob: bytes) -> bytes:
    """``blob`` with one kind of damage; headers (the first KiB) are hit half the time."""
    data = bytearray(blob)
    kind = draw(st.sampled_from(["flip", "truncate", "integer", "splice", "random"]))
    span = len(data) if draw(st.booleans()) else min(len(data), 1024)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 16))):
            data[draw(st.integers(0, span - 1))] = draw(st.integers(0, 255))
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "integer":  # a size, count or offset field set to something extreme
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, max(0, span - 4)))
            value = draw(st.sampled_from(INTERESTING_INTS))
            data[at:at + 4] = value.to_bytes(4, draw(st.sampled_from(["little", "big"])))
    elif kind == "splice":
        at = draw(st.integers(0, span))
        data[at:at + draw(st.integers(0, 64))] = draw(st.binary(max_size=64))
    else:
        data = bytearray(draw(st.binary(max_size=2048)))
    return bytes(data)


# -- the contract ----------------------------------------------------------------------------------
def assert_image_or_clear_error(blob: bytes, name: str, baseline_mb: float | None = None) -> None:
    """Read ``blob`` as ``name``: a valid image or a one-line PaintsegError, in time and memory."""
    try:
        with watchdog():
            image = read_image_bytes(blob, name, max_pixels=FUZZ_MAX_PIXELS)
    except PaintsegError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
    else:
        assert isinstance(image, Image) and image.ndim == 2 and image.dtype == np.float32
        assert min(image.shape) >= 2 and image.size <= FUZZ_MAX_PIXELS
        assert np.isfinite(image).all()
    if baseline_mb is not None:
        grown = peak_rss_mb() - baseline_mb
        assert grown < FUZZ_MEMORY_MB, f"peak RSS grew by {grown:.0f} MB"


@pytest.mark.parametrize("name", [*generated_seeds(), *SHARED_SEEDS])
@FUZZ
@given(data=st.data())
def test_mutated_files_read_or_fail_clearly(name, seeds, memory_baseline, data):
    """Damaged copies of real and generated files of every supported format."""
    blob = seed_bytes(name, seeds)
    suffix = Path(name).suffix
    assert_image_or_clear_error(data.draw(mutated(blob)), f"fuzz{suffix}", memory_baseline)


@st.composite
def arrays(draw) -> np.ndarray:
    """Arrays of every shape a reader may meet: 1-D, 2-D, channels and pages, any values."""
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64]))
    shape = draw(st.sampled_from([(0,), (5,), (1, 9), (6, 5), (9, 7), (6, 5, 3), (6, 5, 7),
                                  (2, 6, 5), (7, 6, 5)]))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = st.integers(int(info.min), int(info.max))
    else:
        values = st.floats(allow_nan=True, allow_infinity=True, width=32)
    flat = draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(flat, dtype=dtype).reshape(shape)


def _encode(array: np.ndarray, suffix: str) -> bytes:
    if suffix == ".npy":
        return _npy(array)
    if suffix == ".tif" and array.ndim == 3 and array.shape[-1] in (3, 7):  # samples per pixel
        return _tiff(array, photometric="rgb" if array.shape[-1] == 3 else "minisblack",
                     planarconfig="contig")
    if suffix == ".tif":
        return _tiff(array, photometric="minisblack")  # 3-D: pages
    return _png(array)


@FUZZ
@given(array=arrays(), suffix=st.sampled_from([".npy", ".tif", ".png"]))
@example(array=np.full((6, 5), np.nan, np.float32), suffix=".tif")  # was: an all-NaN image
@example(array=np.full((6, 5), np.nan, np.float32), suffix=".npy")
@example(array=np.zeros(5), suffix=".npy")  # was: "tuple index out of range"
@example(array=np.zeros((6, 5, 7), np.uint8), suffix=".tif")  # was: a 6x7 image of samples
def test_generated_arrays_read_back_or_fail_clearly(array, suffix):
    """A file made from any array reads back as its pixels (grey, finite) or is refused."""
    try:
        blob = _encode(array, suffix)
    except (TypeError, ValueError, KeyError, IndexError, OSError):
        return  # a file its writer will not make
    try:
        with watchdog():
            image = read_image_bytes(blob, f"made{suffix}", max_pixels=FUZZ_MAX_PIXELS)
    except PaintsegError as exc:
        assert "\n" not in str(exc)
        return
    assert image.ndim == 2 and np.isfinite(image).all()
    if array.ndim == 2 and np.isfinite(array).all():
        expected = array.astype(np.float32)
        expected[~np.isfinite(expected)] = 0.0  # float64 beyond float32's range
        np.testing.assert_array_equal(image, expected)
    if array.ndim == 3 and array.shape[-1] == 7 and suffix == ".tif":
        assert image.shape == array.shape[:2]  # extra samples per pixel, not pages


# -- declared sizes ----------------------------------------------------------------------------------
def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _tiff_declaring(**tags: int) -> bytes:
    """A small TIFF whose tags are overwritten to declare a huge image."""
    rgb = "SamplesPerPixel" in tags
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8, 3) if rgb else (8, 8), np.uint16),
                     photometric="rgb" if rgb else "minisblack")
    buffer.seek(0)
    with tifffile.TiffFile(buffer, mode="r+b") as tif:
        for tag, value in tags.items():
            tif.pages[0].tags[tag].overwrite(value)
    return buffer.getvalue()


def _npy_declaring(shape: tuple[int, ...]) -> bytes:
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}".ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\x00" * 64


def _mrc_declaring(seed: bytes, frames: int = 1) -> bytes:
    data = bytearray(seed)
    data[0:8] = struct.pack("<ii", HUGE, HUGE)  # NX, NY
    if frames > 1:  # NZ only: rosettasciio laid out chunks for it for minutes (a hang)
        data[0:12] = seed[0:8] + struct.pack("<i", frames)
    return bytes(data)


def _dm_declaring(seed: bytes, dm4: bool) -> bytes:
    """Every image of a DigitalMicrograph file set to HUGE x HUGE (its 'Dimensions' tags)."""
    data = bytearray(seed)
    width = 8 if dm4 else 4
    marker = b"%%%%" + (1).to_bytes(width, "big") + (5).to_bytes(width, "big")  # one uint32
    for match in re.finditer(re.escape(marker), data):
        if data.rfind(b"Dimensions", 0, match.start()) > match.start() - 120:
            data[match.end():match.end() + 4] = struct.pack("<I", HUGE)
    return bytes(data)


def _ser_declaring(seed: bytes) -> bytes:
    data = bytearray(seed)
    at = data.index(struct.pack("<ii", 64, 64))  # ArraySizeX, ArraySizeY of the first image
    data[at:at + 8] = struct.pack("<ii", HUGE, HUGE)
    return bytes(data)


def _emd_declaring() -> bytes:
    """An EMD (HDF5) file with a HUGE x HUGE dataset that has no chunk written."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["version_major"], f.attrs["version_minor"] = 0, 2
        group = f.create_group("signals/image")
        group.attrs["emd_group_type"] = 1
        group.create_dataset("data", shape=(HUGE, HUGE), dtype="u2", chunks=(256, 256))
        for i in (1, 2):
            axis = group.create_dataset(f"dim{i}", data=np.array([0.0, 1.0]))
            axis.attrs["name"], axis.attrs["units"] = f"d{i}", "nm"
    return buffer.getvalue()


def declared_huge_files() -> dict[str, bytes]:
    """One file per format that declares a 100000x100000 image (10^10 pixels) in a few KiB."""
    files = {"huge.png": _png_declaring(HUGE, HUGE), "huge.npy": _npy_declaring((HUGE, HUGE)),
             "huge.tif": _tiff_declaring(ImageWidth=HUGE, ImageLength=HUGE),
             "samples.tif": _tiff_declaring(ImageWidth=1000, ImageLength=1000, SamplesPerPixel=60000),
             "huge.emd": _emd_declaring()}
    folder = SHARED_DATA / "microscope-files"
    if folder.is_dir():
        files["huge.mrc"] = _mrc_declaring((folder / "HAADFscan.mrc").read_bytes())
        files["deep.mrc"] = _mrc_declaring((folder / "HAADFscan.mrc").read_bytes(), 2**31 - 1)
        files["huge.dm3"] = _dm_declaring((folder / "test-1.dm3").read_bytes(), dm4=False)
        files["huge.dm4"] = _dm_declaring((folder / "test-1.dm4").read_bytes(), dm4=True)
        files["huge.ser"] = _ser_declaring((folder / "64x64_TEM_images_acquire_1.ser").read_bytes())
    return files


CHILD = """
import json, resource, sys, time
from pathlib import Path
import psutil
from paintseg.errors import PaintsegError
from paintseg.io import read_image_bytes
import h5py, rsciio.digitalmicrograph, rsciio.emd, rsciio.mrc, rsciio.tia, tifffile  # noqa
files = sorted(Path(sys.argv[1]).iterdir())
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (psutil.Process().memory_info().vms + (1 << 30), hard))
for path in files:
    before, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    try:
        read_image_bytes(path.read_bytes(), path.name)
        outcome = "read"
    except PaintsegError as exc:
        outcome = str(exc)
    print(json.dumps({"name": path.name, "outcome": outcome, "seconds": time.perf_counter() - t0,
                      "grown_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))
"""


def test_declared_huge_images_are_refused_before_allocation(tmp_path):
    """10^10 declared pixels in every format (and 2^31 frames of MRC): refused in a child
    process whose address space allows 1 GiB more than it holds (an attempt to allocate
    the image would fail there as 'not enough memory'), within 5 s, and with the peak
    RSS growing by under 64 MB."""
    for name, blob in declared_huge_files().items():
        (tmp_path / name).write_bytes(blob)
    run = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(list(tmp_path.iterdir()))
    for r in results:
        assert r["outcome"] != "read", r
        assert "memory" not in r["outcome"] and "\n" not in r["outcome"], r
        assert r["seconds"] < 5 and r["grown_mb"] < 64, r
    over = {r["name"] for r in results if "over the limit" in r["outcome"]}
    assert {"huge.png", "huge.tif", "samples.tif", "huge.emd"} <= over


# -- strokes ---------------------------------------------------------------------------------------------
STROKE_SHAPE = (24, 20)


def stroke_seeds() -> dict[str, bytes]:
    """Stroke masks as the app exports them (palette PNG, TIFF) and as people make them."""
    mask = np.zeros(STROKE_SHAPE, np.uint8)
    mask[2:6, 3:9], mask[10:14, 5:15], mask[18:22, 1:4] = 1, 2, 7
    return {"strokes.png": encode_mask(mask, ".png"), "strokes.tif": encode_mask(mask, ".tif"),
            "grey.png": _png(mask), "wide.tif": _tiff(mask.astype(np.uint16) * 300),
            "strokes.npy": _npy(mask.astype(np.int32))}


@pytest.fixture(scope="module")
def stroke_session() -> Session:
    rng = np.random.default_rng(3)
    session = Session()
    session.add_image(Image(rng.random(STROKE_SHAPE).astype(np.float32), name="small.tif"))
    return session


@pytest.mark.parametrize("name", list(stroke_seeds()))
@FUZZ
@given(data=st.data())
def test_mutated_stroke_files_import_or_fail_clearly(name, stroke_session, memory_baseline, data):
    """The stroke importer: the mask replaces the strokes, its classes exist; or a clear error."""
    blob = data.draw(mutated(stroke_seeds()[name]))
    session = stroke_session
    before = session.entry().history.mask.copy()
    try:
        with watchdog():
            session.import_strokes(blob, name)
    except PaintsegError as exc:
        assert "\n" not in str(exc)
        np.testing.assert_array_equal(session.entry().history.mask, before)  # left as it was
    else:
        mask = session.entry().history.mask
        assert mask.shape == STROKE_SHAPE
        assert {int(k) for k in np.unique(mask) if k} <= {c.id for c in session.classes}
    assert peak_rss_mb() - memory_baseline < FUZZ_MEMORY_MB


@pytest.mark.parametrize("name", list(stroke_seeds()))
@FUZZ
@given(data=st.data())
def test_mutated_masks_read_or_fail_clearly(name, data):
    """``read_mask``: whole non-negative class ids in one channel, or a clear error."""
    blob = data.draw(mutated(stroke_seeds()[name]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(blob)
        try:
            with watchdog():
                mask = read_mask(path, max_pixels=FUZZ_MAX_PIXELS)
        except PaintsegError as exc:
            assert "\n" not in str(exc)
            return
    assert mask.ndim == 2 and mask.dtype.kind in "iu" and mask.min(initial=0) >= 0


def test_the_watchdog_stops_a_hang():
    """The guard itself: a call that never returns is stopped, not waited for."""
    with pytest.raises(Hang), watchdog(0.2):
        while True:
            pass


def test_a_dm_struct_declaring_millions_of_fields_is_refused_at_once():
    """Found by the fuzzer: rosettasciio builds a struct's field list by tuple
    concatenation, so a damaged field count kept a 1 MB DM3 busy for minutes."""
    import re
    import struct
    import time

    data = bytearray(shared("microscope-files", "multi_signal.dm3").read_bytes())
    for marker in re.finditer(re.escape(b"%%%%"), bytes(data)):
        info = marker.end()
        if struct.unpack(">l", data[info + 4:info + 8])[0] == 15:  # a struct tag
            data[info + 12:info + 16] = struct.pack(">l", 2**31 - 1)  # its field count
            break
    start = time.monotonic()
    with watchdog(), pytest.raises(PaintsegError, match="damaged DM file"):
        read_image_bytes(bytes(data), "damaged.dm3")
    assert time.monotonic() - start < 5
