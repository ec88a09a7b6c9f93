"""paintseg.analysis: known answers to the pixel, physical units, the interval, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import shared

from paintseg.analysis import (
    Calibration,
    calibration,
    clean_mask,
    image_calibration,
    measure,
    measure_series,
    read_mask_frames,
    table_csv,
    table_rows,
    write_table,
)
from paintseg.errors import PaintsegError
from paintseg.io import read_image, write_tiff_image


def known_mask() -> np.ndarray:
    """100x80 background (1) with a 10x20 and a 5x5 rectangle (2) and a disk (3)."""
    mask = np.ones((80, 100), np.uint8)
    mask[10:20, 10:30] = 2  # 200 px
    mask[40:45, 60:65] = 2  # 25 px
    yy, xx = np.mgrid[:80, :100]
    mask[(yy - 50) ** 2 + (xx - 25) ** 2 <= 8**2] = 3
    return mask


def test_fractions_counts_and_sizes_to_the_pixel():
    mask = known_mask()
    disk = int((mask == 3).sum())
    m = measure(mask, class_names=["matrix", "plate", "particle"])
    rows = {r["class"]: r for r in m.rows()}
    assert rows["plate"]["pixels"] == 225
    assert rows["plate"]["fraction"] == 225 / 8000
    assert rows["particle"]["fraction"] == disk / 8000
    assert sum(r["fraction"] for r in rows.values()) == pytest.approx(1.0)
    assert rows["plate"]["regions"] == 2 and rows["particle"]["regions"] == 1
    assert rows["matrix"]["regions"] == 1 and rows["matrix"]["regions_inside"] == 0  # at the border
    assert rows["plate"]["area_unit"] == "px" and rows["plate"]["area"] == 225
    plates = m.classes[1].regions
    order = np.argsort(-plates["area_px"])
    assert plates["area_px"][order].tolist() == [200, 25]
    assert plates["equivalent_diameter"][order][0] == pytest.approx(math.sqrt(4 * 200 / math.pi))
    assert plates["perimeter"][order][0] == 2 * (9 + 19)  # regionprops' contour of a 10x20 block
    # the ellipse with the same second moments as an n x m block: axes sqrt((n^2-1)/(m^2-1))
    assert plates["aspect_ratio"][order][0] == pytest.approx(math.sqrt(399 / 99))
    assert plates["aspect_ratio"][order][1] == pytest.approx(1.0)
    assert not plates["touches_border"].any()
    particle = m.classes[2].regions
    assert particle["equivalent_diameter"][0] == pytest.approx(math.sqrt(4 * disk / math.pi))
    assert rows["particle"]["diameter_d50"] == pytest.approx(math.sqrt(4 * disk / math.pi))


def test_connectivity_decides_whether_diagonal_neighbours_join():
    mask = np.ones((10, 10), np.uint8)
    mask[2:4, 2:4] = 2
    mask[4:6, 4:6] = 2  # touches the first block at a corner
    assert measure(mask, connectivity=2).rows()[1]["regions"] == 1
    assert measure(mask, connectivity=1).rows()[1]["regions"] == 2


def test_physical_units_from_the_pixel_size():
    mask = known_mask()
    m = measure(mask, calibration=calibration(0.5, "nm"))
    plate = m.rows()[1]
    assert plate["area_unit"] == "nm²" and plate["length_unit"] == "nm"
    assert plate["area"] == pytest.approx(225 * 0.25)
    assert plate["mean_region_area"] == pytest.approx(225 * 0.25 / 2)
    um = measure(mask, calibration=calibration(0.5, "nm").to("um")).rows()[1]
    assert um["area_unit"] == "µm²" and um["area"] == pytest.approx(225 * 0.25e-6)
    assert calibration(2, "angstrom").to("nm") == Calibration(0.2, "nm")


def test_pixel_size_from_a_tiff_and_a_dm3(tmp_path):
    path = write_tiff_image(tmp_path / "mask.tif", known_mask(), pixel_size=0.25, unit="nm")
    read = read_mask_frames(path)
    assert read.calibration == Calibration(pytest.approx(0.25), "nm")
    area = measure(read.frames[0], calibration=read.calibration).rows()[1]["area"]
    assert area == pytest.approx(225 * 0.0625)
    dm3 = read_image(shared("microscope-files", "multi_signal.dm3"))
    cal = image_calibration(dm3)
    assert cal.unit == "nm" and cal.pixel_size == pytest.approx(0.01775, rel=1e-3)
    assert image_calibration(np.zeros((4, 4))) == Calibration()  # a plain array: pixels


def test_an_empty_class_gets_zeros_not_an_error():
    m = measure(known_mask(), class_names=["matrix", "plate", "particle", "pore"])
    pore = m.rows()[3]
    assert (pore["pixels"], pore["fraction"], pore["regions"]) == (0, 0.0, 0)
    assert pore["mean_diameter"] is None and pore["mean_region_area"] is None
    assert ",pore,0,0," in table_csv(m.rows())  # empty cells, no NaN in the table


def test_cleaning_merges_small_regions_and_fills_holes_and_is_recorded():
    mask = known_mask()
    mask[58:70, 68:80] = 3
    mask[61:67, 71:77] = 1  # a 36 px hole in a particle
    mask[5, 90] = 3  # a 1 px speck
    cleaned = clean_mask(mask, min_region=30)
    assert (cleaned[40:45, 60:65] == 1).all()  # the 25 px plate joined the matrix around it
    assert cleaned[5, 90] == 1
    assert (cleaned[61:67, 71:77] == 1).all()  # the hole is a region of 36 px: kept
    m = measure(mask, class_names=["matrix", "plate", "particle"], min_region=30, fill_holes=[3])
    rows = {r["class"]: r for r in m.rows()}
    assert rows["plate"]["regions"] == 1 and rows["plate"]["pixels"] == 200
    assert rows["particle"]["regions"] == 2
    assert (m.mask[61:67, 71:77] == 3).all()
    assert rows["particle"]["min_region_px"] == 30 and rows["particle"]["fill_holes"] == "particle"
    assert m.settings["cleaned_pixels"] == 25 + 1 + 36
    assert sum(r["fraction"] for r in rows.values()) == pytest.approx(1.0)


def test_not_counted_pixels_are_left_out():
    mask = known_mask()
    valid = np.ones(mask.shape, bool)
    valid[:, 50:] = False  # an "ignore" region: the right half
    m = measure(mask, valid=valid)
    assert m.counted_pixels == 4000
    assert m.rows()[1]["pixels"] == 200 and m.rows()[1]["fraction"] == 200 / 4000


def test_the_interval_contains_the_truth_on_a_simulated_image(demo256):
    from paintseg.segmenter import Segmenter

    demo, strokes = demo256
    seg = Segmenter(estimate=False).fit([demo.image], [strokes])
    proba = seg.predict_proba(demo.image)
    labels = seg.predict(demo.image)
    m = measure(labels, proba, classes=seg.classes_.tolist(),
                calibration=calibration(demo.pixel_size_nm, "nm"))
    for row in m.rows():
        truth = float((demo.truth == row["class_id"]).mean())
        assert row["fraction_low"] <= truth <= row["fraction_high"], row
        assert row["fraction_low"] <= row["fraction"] <= row["fraction_high"]
        assert row["fraction_low"] <= row["fraction_expected"] <= row["fraction_high"]
        assert row["fraction_high"] - row["fraction_low"] < 0.2  # informative, not 0..1
    assert 0 < m.uncertain < 0.5


def test_a_sure_model_gives_a_tight_interval():
    mask = known_mask()
    proba = np.eye(3, dtype=np.float32)[mask - 1]
    for row in measure(mask, proba).rows():
        assert row["fraction_low"] == row["fraction"] == row["fraction_high"]


def test_a_series_has_a_row_per_frame_and_class(tmp_path):
    first = known_mask()
    second = np.where(first == 3, 1, first)  # the particle dissolved
    ms = measure_series([first, second], class_names=["matrix", "plate", "particle"],
                        times=[0.0, 2.5], time_unit="s")
    rows = table_rows(ms)
    assert [(r["frame"], r["class"]) for r in rows] == [
        (1, "matrix"), (1, "plate"), (1, "particle"), (2, "matrix"), (2, "plate"), (2, "particle")]
    assert rows[5]["fraction"] == 0 and rows[5]["time"] == 2.5
    path = write_table(tmp_path / "t.csv", rows)
    assert path.read_text().count("\n") == 7


def test_a_stack_file_carries_its_frame_times(tmp_path):
    import tifffile

    stack = np.stack([known_mask(), known_mask()])
    tifffile.imwrite(tmp_path / "s.tif", stack, imagej=True,
                     metadata={"axes": "TYX", "finterval": 0.5})
    read = read_mask_frames(tmp_path / "s.tif")
    assert len(read.frames) == 2 and read.times == [0.0, 0.5]


@pytest.mark.parametrize(("mask", "kwargs", "message"), [
    (np.full((8, 8), 1.0), {}, "float64 values, not whole class ids; if its values are whole"),
    (np.full((8, 8), 1.5), {}, "not whole class ids (probabilities go to"),
    (np.full((8, 8), -1), {}, "negative values"),
    (np.zeros((8, 8, 3), np.uint8), {}, "colour channels"),
    (np.zeros((8, 8), np.uint8), {}, "no labelled pixels"),
    (np.arange(64).reshape(8, 8) % 4, {"class_names": ["a", "b"]},
     "holds class 3, which has no name (names given: 1 a, 2 b)"),
    (np.ones((8, 8), int), {"class_names": ["a", "a"]}, "same name"),
    (np.ones((8, 8), int), {"proba": np.ones((8, 8, 2)) / 2}, "holds 2 classes but the mask has 1"),
    (np.ones((8, 8), int), {"proba": np.full((8, 8, 1), 0.5)}, "do not add up to 1"),
    (np.ones((8, 8), int), {"proba": np.ones((4, 8, 1))}, "is 8x4 but the mask is 8x8"),
    (np.ones((8, 8), int), {"fill_holes": [7]}, "no such class"),
])
def test_bad_input_is_one_clear_line(mask, kwargs, message):
    with pytest.raises(PaintsegError, match=None) as info:
        measure(mask, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_unit_without_a_pixel_size_and_unknown_units_are_refused(tmp_path):
    with pytest.raises(PaintsegError, match="need a pixel size, and mask.png carries none"):
        Calibration().to("nm", "mask.png")
    with pytest.raises(PaintsegError, match="unknown length unit 'parsec'"):
        calibration(1.0, "parsec")
    with pytest.raises(PaintsegError, match="positive"):
        calibration(-1.0, "nm")
    with pytest.raises(PaintsegError, match=r"\.csv"):
        write_table(tmp_path / "t.txt", [])
    assert not (tmp_path / "t.txt").exists()
