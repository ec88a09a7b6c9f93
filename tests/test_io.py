import struct
import zlib

import numpy as np
import pytest
import tifffile
from conftest import shared
from PIL import Image as PILImage

from paintseg import PaintsegError, read_image
from paintseg.io import Image, read_mask, write_mask, write_probabilities, write_tiff_image


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip_keeps_values(tmp_path, dtype):
    data = (np.arange(64 * 48).reshape(48, 64) * (7 if dtype == np.uint16 else 1)) % np.iinfo(dtype).max
    PILImage.fromarray(data.astype(dtype)).save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    assert image.shape == (48, 64) and image.dtype == np.float32
    np.testing.assert_array_equal(image, data.astype(np.float32))
    assert image.pixel_size is None and image.name == "a.png"


def test_rgb_is_converted_to_luminance(tmp_path):
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[..., 1] = 200
    PILImage.fromarray(rgb).save(tmp_path / "rgb.png")
    image = read_image(tmp_path / "rgb.png")
    assert image.shape == (10, 12)
    np.testing.assert_allclose(image, 200 * 0.7154, rtol=1e-5)


def test_jpeg_is_read(tmp_path):
    data = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (16, 1))
    PILImage.fromarray(data).save(tmp_path / "a.jpg", quality=95)
    image = read_image(tmp_path / "a.jpg")
    assert image.shape == (16, 32)
    assert np.abs(image - data).max() < 12


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_round_trip_with_pixel_size(tmp_path, dtype):
    data = (np.random.default_rng(0).random((20, 30)) * 1000).astype(dtype)
    write_tiff_image(tmp_path / "a.tif", data, pixel_size=0.25, unit="nm")
    image = read_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(image, data.astype(np.float32))
    assert image.pixel_size == pytest.approx(0.25) and image.unit == "nm"


def test_dm3_keeps_pixel_size():
    image = read_image(shared("microscope-files", "multi_signal.dm3"))
    assert image.shape == (512, 512)
    assert image.pixel_size_nm == pytest.approx(0.0178, rel=0.02)
    assert float(image.std()) > 0


@pytest.mark.parametrize(
    "name, shape",
    [("test-1.dm4", (2, 2)), ("test-1.dm3", (2, 2)), ("example_image.emd", (3, 3)),
     ("fei_example_tem_stack.emd", (3, 3)), ("HAADFscan.mrc", (16, 16)),
     ("64x64_TEM_images_acquire_1.ser", (64, 64))],
)
def test_microscope_formats(name, shape):
    image = read_image(shared("microscope-files", name))
    assert image.shape == shape and image.dtype == np.float32


def test_mrc_and_ser_pixel_sizes():
    assert read_image(shared("microscope-files", "HAADFscan.mrc")).pixel_size_nm == pytest.approx(
        5.68, rel=0.02)
    ser = read_image(shared("microscope-files", "64x64_TEM_images_acquire_1.ser"))
    assert ser.pixel_size_nm == pytest.approx(6.28, rel=0.02)
    uncalibrated = read_image(shared("microscope-files", "example_image.emd"))  # scale 1, unit '[]'
    assert uncalibrated.pixel_size is None and uncalibrated.unit == "px"
    assert read_image(shared("microscope-files", "fei_example_tem_stack.emd")).pixel_size_nm == (
        pytest.approx(0.00817, rel=0.01))


def test_real_stem_tiff_is_read():
    image = read_image(shared("real-stem", "high-entropy-alloy-HAADF.tif"))
    assert image.shape == (1024, 1024)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_mask_round_trip(tmp_path, suffix):
    mask = np.random.default_rng(1).integers(0, 4, (25, 17)).astype(np.uint8)
    write_mask(tmp_path / f"m{suffix}", mask)
    np.testing.assert_array_equal(read_mask(tmp_path / f"m{suffix}"), mask)


def test_many_classes_need_tiff(tmp_path):
    mask = np.arange(300, dtype=np.uint16).reshape(15, 20)
    with pytest.raises(PaintsegError, match="use .tif"):
        write_mask(tmp_path / "m.png", mask)
    assert not (tmp_path / "m.png").exists()
    write_mask(tmp_path / "m.tif", mask)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.tif"), mask)


def test_probabilities_one_float_page_per_class(tmp_path):
    proba = np.random.default_rng(2).random((8, 9, 3)).astype(np.float32)
    write_probabilities(tmp_path / "p.tif", proba, ["a", "b", "c"])
    pages = tifffile.imread(tmp_path / "p.tif")
    assert pages.shape == (3, 8, 9) and pages.dtype == np.float32
    np.testing.assert_array_equal(pages, np.moveaxis(proba, -1, 0))


def _png_with_size(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))


def test_huge_image_is_refused_before_decoding(tmp_path):
    (tmp_path / "huge.png").write_bytes(_png_with_size(60000, 60000))
    with pytest.raises(PaintsegError, match="over the limit"):
        read_image(tmp_path / "huge.png")


def test_one_pixel_image_is_refused(tmp_path):
    PILImage.fromarray(np.zeros((1, 1), np.uint8)).save(tmp_path / "one.png")
    with pytest.raises(PaintsegError, match="too small"):
        read_image(tmp_path / "one.png")


def test_truncated_and_fake_files(tmp_path):
    PILImage.fromarray(np.zeros((64, 64), np.uint8) + 9).save(tmp_path / "ok.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    (tmp_path / "fake.tif").write_bytes(b"this is not a tiff at all")
    (tmp_path / "fake.dm3").write_bytes(b"\0" * 100)
    for name in ("cut.png", "fake.tif", "fake.dm3"):
        with pytest.raises(PaintsegError, match="cannot read image"):
            read_image(tmp_path / name)


def test_unsupported_and_missing(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PaintsegError, match="unsupported file type"):
        read_image(tmp_path / "notes.txt")
    with pytest.raises(PaintsegError, match="not found"):
        read_image(tmp_path / "missing.png")


def test_png_masks_are_palette_images_that_read_back_as_class_ids(tmp_path):
    mask = np.zeros((12, 16), np.uint8)
    mask[:, 4:8], mask[:, 8:] = 1, 3
    write_mask(tmp_path / "m.png", mask, {1: "#ff0000"})
    with PILImage.open(tmp_path / "m.png") as im:
        assert im.mode == "P"  # any viewer shows colours, not grey levels 1..K
        rgb = np.asarray(im.convert("RGB"))
    assert tuple(rgb[0, 5]) == (255, 0, 0)  # the colour given for class 1
    assert tuple(rgb[0, 0]) == (0, 0, 0)  # unlabelled stays black
    assert tuple(rgb[0, 10]) == (0xF3, 0xC6, 0x23)  # class 3 in the default palette
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), mask)


def test_an_image_keeps_its_pixel_size_through_pickle():
    """Images travel to worker processes (the app's, Dask's) pickled."""
    import pickle

    image = Image(np.arange(6, dtype=np.float32).reshape(2, 3), 0.5, "nm", "x.tif")
    copy = pickle.loads(pickle.dumps(image))
    assert isinstance(copy, Image) and (copy.pixel_size, copy.unit, copy.name) == (0.5, "nm", "x.tif")
    np.testing.assert_array_equal(copy, image)


def test_an_image_is_recognised_by_its_content():
    """The feature and lattice caches know an image by its pixels, shape and dtype; an
    Image remembers its key, and a slice of it is a new image."""
    from paintseg.io import content_digest

    pixels = np.random.default_rng(0).random((40, 30)).astype(np.float32)
    image = Image(pixels, 0.1, "nm")
    key = content_digest(image)
    assert key == content_digest(pixels.copy()) == content_digest(image)
    assert content_digest(image[:20]) != key
    assert content_digest(pixels.astype(np.float64)) != key
    other = pixels.copy()
    other[5, 5] += 1
    assert content_digest(other) != key


def test_a_planar_rgb_tiff_is_one_colour_frame(tmp_path):
    """Samples stored plane by plane are one colour image, frame by frame as whole."""
    import tifffile

    from paintseg.io import read_frames

    rgb = np.random.default_rng(0).integers(0, 255, (3, 40, 50), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "planar.tif", rgb, photometric="rgb", planarconfig="separate")
    tifffile.imwrite(tmp_path / "two.tif", np.stack([rgb, rgb[::-1]]), photometric="rgb",
                     planarconfig="separate")
    frames = list(read_frames(tmp_path / "planar.tif"))
    assert len(frames) == 1 and frames[0].shape == (40, 50)
    np.testing.assert_allclose(frames[0], read_image(tmp_path / "planar.tif"))
    two = list(read_frames(tmp_path / "two.tif"))
    assert [f.shape for f in two] == [(40, 50), (40, 50)]
    np.testing.assert_allclose(two[0], frames[0])


def test_a_tiff_with_images_of_other_sizes_says_which_it_opens(tmp_path):
    """Only the first series is opened, and the others are named, not passed over."""
    from paintseg.errors import PaintsegWarning
    from paintseg.io import read_frames

    path = tmp_path / "pages.tif"
    tifffile.imwrite(path, np.zeros((2, 64, 80), np.uint8), photometric="minisblack")
    tifffile.imwrite(path, np.ones((32, 40), np.uint8), append=True)
    single = tmp_path / "single.tif"
    tifffile.imwrite(single, np.zeros((64, 80), np.uint8))
    tifffile.imwrite(single, np.ones((32, 40), np.uint8), append=True)
    with pytest.warns(PaintsegWarning, match=r"pages.tif: only its first .* 1 other \(40x32\)"):
        frames = list(read_frames(path))
    assert [f.shape for f in frames] == [(64, 80), (64, 80)]
    with pytest.warns(PaintsegWarning, match=r"single.tif: only its first"):
        assert read_image(single).shape == (64, 80)


def test_values_no_filter_can_hold_are_refused_and_nan_pixels_named(tmp_path):
    from paintseg import PaintsegError
    from paintseg.errors import PaintsegWarning
    from paintseg.io import as_image

    with pytest.raises(PaintsegError, match="no pixel has a finite value"):
        as_image(np.full((8, 8), 1e300))
    sentinel = np.arange(64, dtype=np.float64).reshape(8, 8)
    sentinel[3, 3] = 1e300  # a dead pixel's float64 sentinel: filled, not cast to infinity
    with pytest.warns(PaintsegWarning, match="1 pixel is NaN, infinite or beyond 32-bit"):
        assert float(as_image(sentinel)[3, 3]) == pytest.approx(np.median(np.delete(sentinel, 27)))
    with pytest.raises(PaintsegError, match="no pixel has a finite value"):
        as_image(np.full((8, 8), np.nan, np.float32))
    some = np.arange(64, dtype=np.float32).reshape(8, 8)
    some[0, :3] = np.nan
    with pytest.warns(PaintsegWarning, match="3 pixels are NaN, infinite or beyond"):
        image = as_image(some)
    assert np.isfinite(image).all()
    with pytest.raises(PaintsegError, match="unsupported pixel type complex64"):
        as_image(image.astype(np.complex64))


def test_planar_samples_that_are_no_colour_stay_frames(tmp_path):
    """Five planar samples of a page are five frames, not one colour image of channel 0."""
    import tifffile

    from paintseg.io import read_frames

    planes = np.random.default_rng(1).integers(0, 255, (5, 40, 50), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "five.tif", planes, photometric="minisblack", planarconfig="separate")
    frames = list(read_frames(tmp_path / "five.tif"))
    assert [f.shape for f in frames] == [(40, 50)] * 5
    np.testing.assert_array_equal(frames[4], planes[4])


def test_notes_of_a_read_go_to_the_thread_that_collects_them(tmp_path):
    """The app collects what a file says as it is read (pixels filled in) per request
    thread; another thread's notes stay warnings, and nothing leaks between them."""
    import threading
    import warnings

    from paintseg.errors import PaintsegWarning, collecting_notes, note
    from paintseg.io import read_frames_bytes

    data = np.ones((16, 16), np.float32)
    data[3, 4] = np.nan
    path = tmp_path / "nan.tif"
    tifffile.imwrite(path, data)
    elsewhere = []

    def other_thread():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            note("from another request")
        elsewhere.extend(str(w.message) for w in caught)

    with warnings.catch_warnings():
        warnings.simplefilter("error", PaintsegWarning)  # nothing collected may warn here
        with collecting_notes() as notes:
            frames = read_frames_bytes(path.read_bytes(), "nan.tif")
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
    assert frames[0].shape == (16, 16)
    assert notes == ["nan.tif: 1 pixel is NaN, infinite or beyond 32-bit floats: set "
                     "to the image's median"]
    assert elsewhere == ["from another request"]
    with pytest.warns(PaintsegWarning, match="1 pixel is NaN"):
        read_frames_bytes(path.read_bytes(), "nan.tif")
