"""Huge images read and written tile by tile (``paintseg.lazy_io``): real tiled TIFFs,
OME-Zarr stores, and ``paintseg predict`` streaming a mask as its tiles finish."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
import zarr

from paintseg import Segmenter, tiles
from paintseg.batch import expand_inputs
from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.errors import PaintsegError
from paintseg.io import read_image, write_tiff_image
from paintseg.lazy_io import open_lazy, write_label_tiles


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 1300 x 1100 lattice image as a tiled 16-bit TIFF at 0.025 nm/px, and a model."""
    root = tmp_path_factory.mktemp("lazy")
    demo = make_stem_image(1300, seed=5)
    pixels = (demo.image[:, :1100] / demo.image.max() * 60000).astype(np.uint16)
    path = root / "montage.tif"
    tifffile.imwrite(path, pixels, tile=(256, 256), compression="zlib", imagej=True,
                     resolution=(40.0, 40.0), metadata={"unit": "nm"})
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=5)[:, :1100]
    seg = Segmenter(estimate=False).fit([read_image(path)], [strokes])
    seg.save(root / "model.paintseg")
    return root, path, pixels, seg


def test_a_tiled_tiff_opens_lazily_with_its_pixel_size(big):
    _, path, pixels, _ = big
    with open_lazy(path) as image:
        assert image.shape == (1300, 1100)
        assert image.pixel_size == pytest.approx(0.025) and image.unit == "nm"
        np.testing.assert_array_equal(image[700:900, 1000:1100], pixels[700:900, 1000:1100])


def test_small_plain_tiffs_and_stacks_are_read_whole(tmp_path):
    write_tiff_image(tmp_path / "small.tif", np.ones((64, 64), np.float32))
    tifffile.imwrite(tmp_path / "stack.tif", np.ones((3, 64, 64), np.uint8), tile=(32, 32),
                     photometric="minisblack")
    assert open_lazy(tmp_path / "small.tif") is None
    assert open_lazy(tmp_path / "stack.tif") is None


def test_an_ome_zarr_opens_at_its_first_level_with_its_pixel_size(tmp_path):
    data = np.arange(300 * 200, dtype=np.uint16).reshape(1, 1, 300, 200)
    group = zarr.open_group(str(tmp_path / "scan.zarr"), mode="w")
    group.create_array("0", data=data, chunks=(1, 1, 128, 128))
    axes = [{"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
            {"name": "y", "type": "space", "unit": "nanometer"},
            {"name": "x", "type": "space", "unit": "nanometer"}]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 2.5, 2.5]}]}]}]
    with open_lazy(tmp_path / "scan.zarr") as image:
        assert image.shape == (300, 200) and image.pixel_size == 2.5 and image.unit == "nm"
        np.testing.assert_array_equal(image[10:20, 30:40], data[0, 0, 10:20, 30:40])
    assert expand_inputs([tmp_path]) == [tmp_path / "scan.zarr"]


def test_a_zarr_of_several_planes_is_refused_in_one_line(tmp_path):
    zarr.open_array(str(tmp_path / "movie.zarr"), mode="w", shape=(4, 64, 64), dtype="u1")
    with pytest.raises(PaintsegError, match="expected one 2-D image"):
        open_lazy(tmp_path / "movie.zarr")


def _predict(*args):
    return subprocess.run([sys.executable, "-m", "paintseg.cli", "predict", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_predict_streams_a_tiled_tiff_mask_equal_to_the_tiled_prediction(big):
    root, path, _, seg = big
    r = _predict(root / "model.paintseg", path, "--out", root / "masks", "--tile", 512)
    assert r.returncode == 0, r.stderr
    written = root / "masks" / "montage_mask.tif"  # a huge image's mask is a tiled TIFF
    with tifffile.TiffFile(written) as tif:
        assert tif.pages[0].is_tiled and tif.pages[0].tilelength == 512
        mask = tif.asarray()
    np.testing.assert_array_equal(mask, tiles.predict(seg, read_image(path), tile=512))


def test_predict_writes_a_zarr_mask(big):
    root, path, _, seg = big
    r = _predict(root / "model.paintseg", path, "--out", root / "mask.zarr", "--tile", 512)
    assert r.returncode == 0, r.stderr
    mask = zarr.open_array(str(root / "mask.zarr"), mode="r")
    assert mask.chunks == (512, 512)
    np.testing.assert_array_equal(mask[:], tiles.predict(seg, read_image(path), tile=512))


def test_a_write_that_fails_midway_leaves_no_mask(tmp_path):
    def tiles_then_failure():
        yield np.ones((64, 64), np.uint8)
        raise PaintsegError("the disk is full")

    for name in ("mask.tif", "mask.zarr"):
        with pytest.raises(PaintsegError, match="disk is full"):
            write_label_tiles(tmp_path / name, (128, 128), 64, np.uint8, tiles_then_failure())
    assert list(tmp_path.iterdir()) == []



def test_a_small_image_can_be_written_to_zarr_again(big, tmp_path):
    root, _, pixels, seg = big
    small = tmp_path / "small.tif"
    write_tiff_image(small, pixels[:300, :200].astype(np.float32), 0.025, "nm")
    for _ in range(2):  # the second run replaces the first store, not writes inside it
        r = _predict(root / "model.paintseg", small, "--out", tmp_path / "small.zarr")
        assert r.returncode == 0, r.stderr
    mask = zarr.open_array(str(tmp_path / "small.zarr"), mode="r")
    np.testing.assert_array_equal(mask[:], seg.predict(read_image(small)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.tif", "small.zarr"]


def test_a_stack_predicted_to_zarr_lands_in_the_store(big, tmp_path):
    """A stack's masks go into the .zarr store asked for, one frame per plane, and
    nothing is written beside it (a .tif of the same stem might be an input)."""
    root, _, pixels, seg = big
    frames = np.stack([pixels[:200, :240], pixels[200:400, :240]]).astype(np.float32)
    tifffile.imwrite(tmp_path / "stack.tif", frames, photometric="minisblack")
    r = _predict(root / "model.paintseg", tmp_path / "stack.tif", "--out", tmp_path / "masks.zarr")
    assert r.returncode == 0, r.stderr
    store = zarr.open_array(str(tmp_path / "masks.zarr"), mode="r")
    assert store.shape == (2, 200, 240)
    np.testing.assert_array_equal(store[1], seg.predict(frames[1]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks.zarr", "stack.tif"]


def test_a_zarr_stack_holds_class_ids_that_only_later_frames_use(tmp_path):
    """Each frame's mask takes the smallest type its own ids fit: a class id above 255
    seen only in a later frame must not wrap in a store typed by the first frame."""
    from paintseg.lazy_io import write_label_stack

    frames = [np.ones((8, 8), np.uint8), np.full((8, 8), 300, np.uint16)]
    write_label_stack(tmp_path / "m.zarr", frames)
    store = zarr.open_array(str(tmp_path / "m.zarr"), mode="r")
    assert store.dtype == np.uint16 and int(store[1, 0, 0]) == 300
