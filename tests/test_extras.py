"""The optional parts (the automl extra: TPOT, xgboost, distributed) missing: every way in
says, in one line, which extra to install; nothing falls back silently. Each check runs
in a fresh interpreter where those modules cannot be imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.io import write_mask, write_tiff_image

HINT = "pip install 'paintseg[automl]'"


def without(modules: list[str], code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new interpreter in which ``modules`` cannot be imported."""
    block = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run([sys.executable, "-c", block + textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extras")
    demo = make_stem_image(96, seed=1)
    strokes = simulate_strokes(demo.truth, grains=demo.grains, seed=1)
    write_tiff_image(folder / "image.tif", demo.image, demo.pixel_size_nm)
    write_mask(folder / "strokes.png", strokes)
    return folder


CLI = "from paintseg.cli import main\nsys.argv = ['paintseg', *sys.argv[1:]]\nmain()\n"


def test_cli_train_with_xgboost_missing(files, tmp_path):
    run = without(["xgboost"], CLI, "train", str(files / "image.tif"), "--labels",
                  str(files / "strokes.png"), "--classifier", "xgboost", "--out",
                  str(tmp_path / "m.paintseg"))
    assert run.returncode == 1
    assert "the xgboost classifier needs xgboost, which is not installed" in run.stderr
    assert HINT in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "m.paintseg").exists()


def test_cli_automl_with_tpot_missing(files, tmp_path):
    run = without(["tpot"], CLI, "automl", str(files / "image.tif"), "--labels",
                  str(files / "strokes.png"), "--minutes", "0.1", "--out", str(tmp_path / "t.paintseg"))
    assert run.returncode == 1
    assert "the AutoML search needs tpot" in run.stderr and HINT in run.stderr
    assert "Traceback" not in run.stderr


def test_app_session_says_which_extra():
    """What the page shows: the session's PaintsegError (train, and the search panel)."""
    run = without(["xgboost", "distributed"], """
        import numpy as np
        from paintseg.app.state import Session
        from paintseg.automl import AutoMLSearch
        from paintseg.errors import PaintsegError
        from paintseg.io import Image
        session = Session()
        session.add_image(Image(np.random.default_rng(0).random((64, 64), np.float32)))
        mask = session.images[0].history.mask
        mask[5:15, 5:15], mask[40:50, 40:50] = 1, 2
        session.classifier = "xgboost"
        for action in (session.train, lambda: AutoMLSearch(minutes=1)):
            try:
                action()
            except PaintsegError as exc:
                print(exc)
        """)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and all(HINT in line for line in lines)
    assert "the xgboost classifier" in lines[0] and "the AutoML search needs xgboost" in lines[1]


def test_model_that_needs_xgboost(files, tmp_path):
    pytest.importorskip("xgboost")
    from paintseg import Segmenter
    from paintseg.io import read_image, read_mask

    path = tmp_path / "xgb.paintseg"
    Segmenter(classifier="xgboost").fit([read_image(files / "image.tif")],
                                        [read_mask(files / "strokes.png")]).save(path)
    run = without(["xgboost"], """
        from paintseg import Segmenter
        from paintseg.errors import PaintsegError
        try:
            Segmenter.load(sys.argv[1])
        except PaintsegError as exc:
            print(exc)
        """, str(path))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{path.name} needs xgboost, which is not installed: {HINT}"
