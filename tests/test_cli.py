import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import mean_iou

from paintseg.io import read_image, read_mask, write_mask


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "paintseg.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    r = run("demo", "--out", folder, "--size", 256, "--seed", 3)
    assert r.returncode == 0, r.stderr
    model = folder / "model.paintseg"
    r = run("train", folder / "demo_stem.tif", "--labels", folder / "demo_strokes.png",
            "--out", model)
    assert r.returncode == 0, r.stderr
    return folder, model


def test_demo_writes_image_truth_and_strokes(trained):
    folder, _ = trained
    image = read_image(folder / "demo_stem.tif")
    truth = read_mask(folder / "demo_truth.png")
    strokes = read_mask(folder / "demo_strokes.png")
    assert image.shape == truth.shape == strokes.shape == (256, 256)
    assert image.pixel_size_nm == pytest.approx(0.05)
    assert set(np.unique(truth)) == {1, 2, 3}
    assert 0.003 < (strokes > 0).mean() < 0.03


def test_predict_one_file_with_probabilities(trained, tmp_path):
    folder, model = trained
    r = run("predict", model, folder / "demo_stem.tif", "--out", tmp_path / "mask.tif", "--proba")
    assert r.returncode == 0, r.stderr
    mask = read_mask(tmp_path / "mask.tif")
    assert mean_iou(mask, read_mask(folder / "demo_truth.png")) > 0.75
    assert (tmp_path / "mask_proba.tif").exists()
    assert f"wrote {tmp_path / 'mask.tif'}" in r.stdout  # every file written is named
    assert f"wrote {tmp_path / 'mask_proba.tif'}" in r.stdout


def test_predict_several_files_into_a_folder(trained, tmp_path):
    folder, model = trained
    second = tmp_path / "second.png"
    write_mask(second, (read_image(folder / "demo_stem.tif") / 4).clip(0, 255).astype(np.uint8))
    r = run("predict", model, folder / "demo_stem.tif", second, "--out", tmp_path / "masks")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == [
        "demo_stem_mask.png", "second_mask.png"]
    assert set(np.unique(read_mask(tmp_path / "masks" / "second_mask.png"))) <= {1, 2, 3}


def test_train_with_other_presets(trained, tmp_path):
    folder, _ = trained
    r = run("train", folder / "demo_stem.tif", "--labels", folder / "demo_strokes.png",
            "--out", tmp_path / "m.paintseg", "--features", "ilastik", "--classifier", "xgboost")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m.paintseg").stat().st_size > 1000


def _one_line_error(r):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_bad_inputs_give_one_line_and_no_output(trained, tmp_path):
    folder, model = trained
    image, strokes = folder / "demo_stem.tif", folder / "demo_strokes.png"
    out = tmp_path / "m.paintseg"
    small = tmp_path / "small.png"
    write_mask(small, np.ones((10, 10), np.uint8))
    empty = tmp_path / "empty.png"
    write_mask(empty, np.zeros((256, 256), np.uint8))
    one = tmp_path / "one.png"
    write_mask(one, (read_mask(strokes) > 0).astype(np.uint8))
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\0garbage")
    cases = [
        (("train", image, "--labels", small, "--out", out), "stroke mask 1 is 10x10"),
        (("train", image, "--labels", empty, "--out", out), "no strokes"),
        (("train", image, "--labels", one, "--out", out), "only class 1"),
        (("train", junk, "--labels", strokes, "--out", out), "cannot read image"),
        (("train", image, "--labels", strokes, "--out", out, "--features", "nope"),
         "unknown feature preset"),
        (("predict", image, image, "--out", tmp_path / "x.png"), "not a paintseg model"),
        (("predict", model, tmp_path / "missing.png", "--out", tmp_path / "x.png"), "not found"),
    ]
    for args, message in cases:
        line = _one_line_error(run(*args))
        assert message in line, (args, line)
    assert not out.exists() and not (tmp_path / "x.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0
    for command in ("train", "predict", "automl", "demo", "app"):
        assert command in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("paintseg 0.")
    for command in ("train", "predict", "automl", "app"):
        text = run(command, "--help").stdout
        assert "<bool>" not in text and "<list" not in text and "<path>" not in text, command
    assert "PATH..." in run("train", "--help").stdout


def test_train_prints_the_lattice_period_and_refuses_a_bad_override(trained, tmp_path):
    folder, _ = trained
    args = ("train", folder / "demo_stem.tif", "--labels", folder / "demo_strokes.png",
            "--out", tmp_path / "m.paintseg")
    r = run(*args)
    assert r.returncode == 0, r.stderr
    assert re.search(r"lattice period 5\.[45] px \(0\.27[34] nm\)", r.stdout)  # MoS2 (100) planes
    r = run(*args, "--period", "0.5")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("error: lattice period 0.5 px is outside")
    assert "Traceback" not in r.stderr


def test_predict_without_pixel_size_warns_in_one_line(trained, tmp_path):
    folder, model = trained
    plain = tmp_path / "plain.npy"
    np.save(plain, np.asarray(read_image(folder / "demo_stem.tif")))
    r = run("predict", model, plain, "--out", tmp_path / "mask.png")
    assert r.returncode == 0, r.stderr
    assert "warning: the image has no pixel size" in r.stderr
    assert "warnings.warn" not in r.stderr


def test_app_serves_with_one_clean_line(tmp_path):
    """A production server (no development-server warning), one line with the address."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "paintseg.cli", "app", "--port", str(port),
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(240):
            try:
                assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200
                break
            except OSError:
                time.sleep(0.25)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert out.strip().splitlines() == [f"paintseg is running at http://127.0.0.1:{port}/  (Ctrl-C to stop)"]
    assert "development server" not in err and "Traceback" not in err


def test_train_names_the_borders_that_follow_the_edges(tmp_path):
    """Plates of three brightnesses: every pair of classes has its borders on the
    image's edges, and ``--no-edges`` trains a model without them."""
    from paintseg import Segmenter
    from paintseg.demo import make_plates_image, simulate_strokes
    from paintseg.io import write_tiff_image

    made = make_plates_image(192, 0)
    write_tiff_image(tmp_path / "plates.tif", made.image, None)
    write_mask(tmp_path / "strokes.png", simulate_strokes(made.truth, grains=made.grains, seed=3))
    args = ("train", tmp_path / "plates.tif", "--labels", tmp_path / "strokes.png", "--out")
    r = run(*args, tmp_path / "a.paintseg")
    assert r.returncode == 0, r.stderr
    assert "borders on the image's edges: " in r.stdout
    model = Segmenter.load(tmp_path / "a.paintseg")
    assert model.edge_pairs_ == [(0, 1), (0, 2), (1, 2)]
    assert f"(edges read at up to {model.edge_sigma_:g} px)" in r.stdout
    r = run(*args, tmp_path / "b.paintseg", "--no-edges")
    assert r.returncode == 0, r.stderr
    assert "borders on the image's edges" not in r.stdout
    assert Segmenter.load(tmp_path / "b.paintseg").edge_pairs_ == []


def test_an_output_over_an_input_is_refused_and_the_input_kept(trained, tmp_path):
    """Writing the model over the image or the strokes, or a mask over the image it
    segments, would destroy the input: refused before any work, the file unchanged."""
    folder, model = trained
    image, strokes = tmp_path / "image.tif", tmp_path / "strokes.png"
    image.write_bytes((folder / "demo_stem.tif").read_bytes())
    strokes.write_bytes((folder / "demo_strokes.png").read_bytes())
    import tifffile

    stack = tmp_path / "stack.tif"  # a stack's masks go to a .tif whatever --out ends in
    tifffile.imwrite(stack, np.stack([np.asarray(read_image(image))] * 3), photometric="minisblack")
    probabilities = tmp_path / "x_proba.tif"
    probabilities.write_bytes(image.read_bytes())
    before = image.read_bytes(), strokes.read_bytes(), stack.read_bytes(), probabilities.read_bytes()
    for args in [("train", image, "-l", strokes, "-o", image),
                 ("train", image, "-l", strokes, "-o", strokes),
                 ("predict", model, image, "-o", image),
                 ("predict", model, stack, "-o", tmp_path / "stack.png"),
                 ("predict", model, probabilities, "-o", tmp_path / "x_mask.png", "--proba")]:
        assert "is one of the inputs" in _one_line_error(run(*args)), args
    assert (image.read_bytes(), strokes.read_bytes(), stack.read_bytes(),
            probabilities.read_bytes()) == before
    (tmp_path / "folder").mkdir()
    line = _one_line_error(run("train", image, "-l", strokes, "-o", tmp_path / "folder"))
    assert "is a folder" in line


def test_an_unreadable_tiled_tiff_does_not_stop_the_batch(trained, tmp_path):
    """A tiled TIFF is read tile by tile; one cut short fails alone, named, and the
    files after it are still segmented."""
    import tifffile

    folder, model = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    grey = read_image(folder / "demo_stem.tif")
    for name in ("a.tif", "c.tif"):
        tifffile.imwrite(inputs / name, np.asarray(grey))
    tifffile.imwrite(inputs / "b.tif", np.tile(np.asarray(grey, np.float32), (2, 2)), tile=(128, 128))
    blob = (inputs / "b.tif").read_bytes()
    (inputs / "b.tif").write_bytes(blob[: len(blob) // 3])
    r = run("predict", model, inputs, "-o", tmp_path / "out")
    assert r.returncode == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_mask.png", "c_mask.png"]
    assert "b.tif: failed (TiffFileError" in r.stderr and "Traceback" not in r.stderr
    assert "2 of 3 files done" in r.stdout


def test_a_mask_holding_nan_or_an_image_is_refused(trained, tmp_path):
    """NaN in a float stroke mask is not 'unpainted', and an image given as the strokes
    is not hundreds of classes: both refused in one line."""
    import tifffile

    folder, _ = trained
    image = folder / "demo_stem.tif"
    strokes = read_mask(folder / "demo_strokes.png").astype(np.float32)
    strokes[strokes == 2] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", strokes)
    out = tmp_path / "m.paintseg"
    assert "not NaN" in _one_line_error(run("train", image, "-l", tmp_path / "nan.tif", "-o", out))
    assert "is the stroke mask an image?" in _one_line_error(run("train", image, "-l", image, "-o", out))
    assert not out.exists()


def test_a_port_that_cannot_be_served_is_one_line(tmp_path):
    """A port out of range (the socket would wrap 99999 to another port) or already
    taken gives one line and a non-zero exit, not the server's traceback."""
    import socket

    assert "from 1 to 65535" in _one_line_error(run("app", "--port", 99999, "--no-browser"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("app", "--port", port, "--no-browser", "--data-dir", tmp_path)
        assert f"cannot serve on 127.0.0.1:{port}" in _one_line_error(r)
