"""paintseg stats and predict --stats on real files the tests write (and a real DM3)."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest
import tifffile
from conftest import shared

from paintseg import cli
from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.io import write_mask, write_probabilities, write_tiff_image
from paintseg.segmenter import Segmenter


def run(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """The CLI in this process (as `paintseg ARGS`): exit status, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["paintseg", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as info:
        cli.main()
    captured = capsys.readouterr()
    return info.value.code or 0, captured.out, captured.err


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 128 px STEM image with its pixel size, a model trained on it, its truth."""
    folder = tmp_path_factory.mktemp("stats")
    d = make_stem_image(128, seed=2)
    strokes = simulate_strokes(d.truth, grains=d.grains, seed=2)
    image = write_tiff_image(folder / "stem.tif", d.image, pixel_size=0.05, unit="nm")
    seg = Segmenter(estimate=False, class_names=["2H", "1T", "amorphous"]).fit([d.image], [strokes])
    seg.save(folder / "model.paintseg")
    proba = seg.predict_proba(d.image)
    write_mask(folder / "mask.png", seg.predict(d.image))
    write_probabilities(folder / "proba.tif", proba)
    return folder, image, d


def test_stats_of_a_mask_with_probabilities_names_regions_and_report(demo, tmp_path, monkeypatch,
                                                                      capsys):
    folder, _, d = demo
    rc, out, err = run(monkeypatch, capsys, "stats", folder / "mask.png", "--proba",
                       folder / "proba.tif", "--class-names", "2H,1T,amorphous", "--out",
                       tmp_path / "t.csv", "--regions", tmp_path / "r.csv", "--report",
                       tmp_path / "r.html", "--pixel-size", 0.05, "--unit", "nm", "--min-region", 20)
    assert rc == 0, err
    rows = read_csv(tmp_path / "t.csv")
    assert [r["class"] for r in rows] == ["2H", "1T", "amorphous"]
    for r in rows:
        assert float(r["fraction_low"]) <= float(r["fraction"]) <= float(r["fraction_high"])
        assert r["area_unit"] == "nm²" and r["min_region_px"] == "20"
        assert float(r["area"]) == pytest.approx(int(r["pixels"]) * 0.0025)
    assert sum(float(r["fraction"]) for r in rows) == pytest.approx(1.0)
    regions = read_csv(tmp_path / "r.csv")
    assert all(int(r["area_px"]) >= 20 for r in regions)
    assert len(regions) == sum(int(r["regions"]) for r in rows)
    assert "plausible %" in out and f"wrote {tmp_path / 'r.html'}" in out
    assert "<!DOCTYPE html>" in (tmp_path / "r.html").read_text(encoding="utf-8")[:50]


def test_stats_reads_the_pixel_size_of_a_tiff_and_converts_units(tmp_path, monkeypatch, capsys):
    mask = np.ones((40, 50), np.uint8)
    mask[10:20, 10:30] = 2
    write_tiff_image(tmp_path / "m.tif", mask, pixel_size=2.0, unit="nm")
    rc, _, err = run(monkeypatch, capsys, "stats", tmp_path / "m.tif", "--out", tmp_path / "a.csv")
    assert rc == 0, err
    row = read_csv(tmp_path / "a.csv")[1]
    assert (row["area_unit"], float(row["area"]), row["pixel_size"]) == ("nm²", 800.0, "2")
    rc, _, err = run(monkeypatch, capsys, "stats", tmp_path / "m.tif", "--out", tmp_path / "b.csv",
                     "--unit", "um")
    assert rc == 0, err
    row = read_csv(tmp_path / "b.csv")[1]
    assert row["area_unit"] == "µm²" and float(row["area"]) == pytest.approx(800e-6)


def test_stats_takes_the_pixel_size_of_the_dm3_the_mask_segments(tmp_path, monkeypatch, capsys):
    dm3 = shared("microscope-files", "multi_signal.dm3")
    mask = np.ones((512, 512), np.uint8)
    mask[100:200, 100:300] = 2
    write_mask(tmp_path / "m.png", mask)
    rc, _, err = run(monkeypatch, capsys, "stats", tmp_path / "m.png", "--image", dm3, "--out",
                     tmp_path / "t.csv", "--report", tmp_path / "r.html")
    assert rc == 0, err
    row = read_csv(tmp_path / "t.csv")[1]
    assert row["area_unit"] == "nm²"
    assert float(row["area"]) == pytest.approx(20000 * 0.0177516 ** 2, rel=1e-4)


def test_a_stack_gives_a_row_per_frame_and_class_with_its_times(tmp_path, monkeypatch, capsys):
    frames = np.ones((3, 30, 30), np.uint8)
    for t in range(3):
        frames[t, :10 * (t + 1), :] = 2  # phase 2 grows
    tifffile.imwrite(tmp_path / "s.tif", frames, imagej=True,
                     metadata={"axes": "TYX", "finterval": 1.5})
    rc, _, err = run(monkeypatch, capsys, "stats", tmp_path / "s.tif", "--out", tmp_path / "t.csv",
                     "--class-names", "liquid,solid", "--report", tmp_path / "r.html")
    assert rc == 0, err
    rows = read_csv(tmp_path / "t.csv")
    solid = [r for r in rows if r["class"] == "solid"]
    assert [r["frame"] for r in solid] == ["1", "2", "3"]
    assert [float(r["time"]) for r in solid] == [0.0, 1.5, 3.0]
    assert [float(r["fraction"]) for r in solid] == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_predict_measures_as_it_predicts(demo, tmp_path, monkeypatch, capsys):
    folder, image, d = demo
    rc, out, err = run(monkeypatch, capsys, "predict", folder / "model.paintseg", image, "--out",
                       tmp_path / "mask.png", "--stats", tmp_path / "t.csv", "--report",
                       tmp_path / "r.html")
    assert rc == 0, err
    rows = read_csv(tmp_path / "t.csv")
    assert [r["class"] for r in rows] == ["2H", "1T", "amorphous"]
    assert all(r["area_unit"] == "nm²" and r["pixel_size"] == "0.05" for r in rows)
    for r in rows:  # the truth lies in the plausible range
        truth = float((d.truth == int(r["class_id"])).mean())
        assert float(r["fraction_low"]) - 0.02 <= truth <= float(r["fraction_high"]) + 0.02
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "model.paintseg" in html and "extra_trees" in html
    assert f"wrote {tmp_path / 't.csv'}" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--class-names", "a"], "holds class 2, which has no name (names given: 1 a)"),
    (["--unit", "nm"], "areas in nm² need a pixel size, and m.png carries none"),
    (["--pixel-size", "0"], "the pixel size must be a positive number"),
    (["--fill-holes", "pore", "--class-names", "a,b"], "--fill-holes: no class 'pore'"),
])
def test_bad_input_is_one_line_and_writes_nothing(args, message, tmp_path, monkeypatch, capsys):
    mask = np.ones((20, 20), np.uint8)
    mask[5:10, 5:10] = 2
    write_mask(tmp_path / "m.png", mask)
    rc, out, err = run(monkeypatch, capsys, "stats", tmp_path / "m.png", "--out", tmp_path / "t.csv",
                       "--report", tmp_path / "r.html", *args)
    assert rc == 1
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png"]


def test_a_float_mask_is_refused(tmp_path, monkeypatch, capsys):
    tifffile.imwrite(tmp_path / "p.tif", np.full((20, 20), 0.4, np.float32))
    rc, _, err = run(monkeypatch, capsys, "stats", tmp_path / "p.tif", "--out", tmp_path / "t.csv")
    assert rc == 1 and "p.tif holds float32 values, not whole class ids" in err
    assert not (tmp_path / "t.csv").exists()
