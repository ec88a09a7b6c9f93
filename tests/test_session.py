"""The app's server-side state without a browser: strokes, undo, queue, exports."""

import io
import zipfile

import numpy as np
import pytest

from paintseg import PaintsegError
from paintseg.annotations import Stroke, StrokeHistory, draw_stroke
from paintseg.app.state import Session
from paintseg.io import Image


def test_a_stroke_paints_a_band_of_its_width():
    mask = np.zeros((50, 80), np.uint8)
    draw_stroke(mask, Stroke(np.array([[10.0, 25.0], [70.0, 25.0]]), width=9, label=3))
    rows = np.flatnonzero(mask[:, 40])
    assert set(np.unique(mask)) == {0, 3}
    assert 8 <= len(rows) <= 10 and rows.min() >= 20 and rows.max() <= 30
    draw_stroke(mask, Stroke(np.array([[40.0, 25.0]]), width=20, label=0))  # an eraser dab
    assert mask[25, 40] == 0 and mask[25, 15] == 3


def test_undo_replays_exactly():
    history = StrokeHistory((40, 40))
    history.push("stroke", Stroke(np.array([[5.0, 5.0], [30.0, 5.0]]), 4, 1))
    after_one = history.mask.copy()
    history.push("stroke", Stroke(np.array([[5.0, 5.0], [5.0, 30.0]]), 6, 2))
    history.push("clear", None)
    assert not history.mask.any()
    history.undo()
    history.undo()
    np.testing.assert_array_equal(history.mask, after_one)


def test_label_counts_follow_strokes_and_undo_and_stay_exact_when_large():
    from paintseg.annotations import label_counts

    history = StrokeHistory((40, 40))
    assert history.counts()[0] == 1600
    history.push("stroke", Stroke(np.array([[5.0, 5.0], [30.0, 5.0]]), 4, 1))
    assert history.counts()[1] == (history.mask == 1).sum() > 0
    history.undo()
    assert history.counts()[1] == 0
    big = np.zeros((4200, 4096), np.uint8)  # 17.2 M pixels: beyond float32's exact counts
    big[-1, -3:] = 7
    counts = label_counts(big)
    assert counts[0] == 4200 * 4096 - 3 and counts[7] == 3


def _session(size=64):
    image = Image(np.random.default_rng(0).random((size, size)).astype(np.float32), name="r.png")
    session = Session()
    session.add_image(image)
    return session


def test_stroke_queue_is_applied_once_and_in_order():
    session = _session()
    uid = session.entry().uid
    first = {"seq": 1, "image": uid, "points": [[5, 5], [20, 5]], "width": 3, "label": 1}
    second = {"seq": 2, "image": uid, "points": [[5, 5], [20, 5]], "width": 3, "label": 2}
    assert session.apply_queue("page", [first]) == (1, 1)
    assert session.apply_queue("page", [first, second]) == (2, 1)  # resent: not applied twice
    assert session.pixel_counts()[1] == 0 and session.pixel_counts()[2] > 0
    assert len(session.entry().history.operations) == 2
    # another page (a reload) numbers its strokes from 1 again
    assert session.apply_queue("reloaded", [first]) == (1, 1)


def test_bad_strokes_are_refused():
    session = _session()
    with pytest.raises(PaintsegError, match="malformed"):
        session.add_stroke({"points": [[1, float("nan")]], "width": 3, "label": 1})
    with pytest.raises(PaintsegError, match="no class 9"):
        session.add_stroke({"points": [[1, 1]], "width": 3, "label": 9})


def test_classes_train_and_export():
    session = _session(96)
    uid = session.entry().uid
    with pytest.raises(PaintsegError, match="paint some strokes"):
        session.train()
    session.add_stroke({"image": uid, "points": [[5, 10], [40, 10]], "width": 5, "label": 1})
    with pytest.raises(PaintsegError, match="only 'phase 1'"):
        session.train()
    extra = session.add_class("pores")
    session.add_stroke({"image": uid, "points": [[5, 60], [40, 60]], "width": 5, "label": 2})
    session.add_stroke({"image": uid, "points": [[60, 30], [90, 30]], "width": 5, "label": extra.id})
    summary = session.train()
    assert summary["n_features"] > 0
    assert abs(sum(session.phase_fractions().values()) - 1) < 1e-9
    tiles = zipfile.ZipFile(io.BytesIO(session.export_tiles(32)))
    assert sum(n.startswith("masks/") for n in tiles.namelist()) == 9
    with pytest.raises(PaintsegError, match="smaller than one"):
        session.export_tiles(128)
    session.delete_class(extra.id)
    assert extra.id not in session.pixel_counts()
    assert not (session.entry().history.mask == extra.id).any()


def test_ignored_regions_are_left_out_of_training_overlay_and_statistics(tmp_path):
    from paintseg.annotations import IGNORE
    from paintseg.io import read_mask
    from paintseg.segmenter import labelled_pixels

    rng = np.random.default_rng(1)
    data = rng.normal(80, 5, (64, 96)).astype(np.float32)
    data[:, 48:] += 80  # class 2 on the right half
    session = Session()
    session.add_image(Image(data, name="halves.tif"))
    session.add_stroke({"points": [[5, 10], [40, 50]], "width": 5, "label": 1})
    session.add_stroke({"points": [[55, 10], [90, 50]], "width": 5, "label": 2})
    # a scale bar over the bottom right, painted "ignore" over part of a class-2 stroke
    session.add_stroke({"points": [[60, 55], [95, 55]], "width": 16, "label": IGNORE})
    strokes = session.entry().history.mask
    ignored = strokes == IGNORE
    assert ignored.sum() > 300
    _, y, _ = labelled_pixels([data], [strokes], lambda image: session.features)
    assert set(np.unique(y)) == {1, 2}  # ignore is not a class, and its pixels are not trained on
    assert len(y) == int(((strokes > 0) & ~ignored).sum())
    assert IGNORE not in session.pixel_counts()  # not a class in the panel

    session.train()
    assert session.model.classes_.tolist() == [1, 2]
    path = tmp_path / "mask.png"
    path.write_bytes(session.export_mask(".png"))
    mask = read_mask(path)
    assert (mask[ignored] == 0).all() and (mask[~ignored] > 0).all()
    fractions = session.phase_fractions()
    right = (~ignored[:, 48:]).sum() / (~ignored).sum()  # over the pixels that count
    assert abs(fractions[2] - right) < 0.05 and abs(sum(fractions.values()) - 1) < 1e-9
    exported = tmp_path / "strokes.png"
    exported.write_bytes(session.export_strokes())  # saved with the strokes, as 255
    assert (read_mask(exported) == IGNORE).sum() == ignored.sum()
    session.import_strokes(exported.read_bytes(), "strokes.png")
    assert [c.id for c in session.classes] == [1, 2]  # 255 did not become a class


def test_an_image_imported_as_strokes_is_refused_and_classes_are_capped(tmp_path):
    """Hundreds of grey levels are not classes: the import is refused in one line and
    the strokes and classes stay as they were; adding classes stops at the cap."""
    from paintseg.annotations import MAX_CLASSES
    from paintseg.io import write_mask

    session = Session()
    session.add_image(Image(np.zeros((64, 64), np.float32), name="flat.tif"))
    before = [c.id for c in session.classes]
    grey = (np.arange(64 * 64).reshape(64, 64) % 200 + 1).astype(np.uint8)
    write_mask(tmp_path / "grey.png", grey)
    with pytest.raises(PaintsegError, match="holds 200 class ids"):
        session.import_strokes((tmp_path / "grey.png").read_bytes(), "grey.png")
    assert [c.id for c in session.classes] == before
    assert not session.entry().history.mask.any()
    while len(session.classes) < MAX_CLASSES:
        session.add_class()
    with pytest.raises(PaintsegError, match=f"at most {MAX_CLASSES} classes"):
        session.add_class()


def test_live_training_fits_the_preview_trees_first_and_grows_the_rest():
    """A live training fits the trees a preview reads; the first use of the whole model
    grows the forest, which then predicts what a full training predicts and estimates
    its accuracy as a full training does. Meanwhile a snapshot (what autosave writes)
    holds the last fully grown model, never a half one."""
    session = _session(96)
    uid = session.entry().uid
    for row, label in ((10, 1), (30, 1), (60, 2), (80, 2)):
        session.add_stroke({"image": uid, "points": [[5, row], [90, row]], "width": 5,
                            "label": label})
    session.train()
    full = session.result().proba.copy()
    estimate = session.model.training_summary_["estimated_miou"]
    assert estimate is not None
    saved_version = session.model_version
    session.train(live=True)
    live = session.model
    assert len(live.estimator_.estimators_) == 16 and live.trees_pending_ == 32
    assert live.training_summary_["estimated_miou"] is None
    assert "once every tree is grown" in live.describe_accuracy()
    snapshot = session.snapshot()
    assert snapshot.model_version == saved_version and snapshot.model.trees_pending_ == 0
    session.start_preview(0, (0, 0, 96, 96), 2)  # made ahead, in a thread
    preview = session.preview(0, (0, 0, 96, 96), 2)  # waits for it: the same result
    assert preview is not None and preview.proba.shape == (48, 48, 2)
    assert session.previews == {(0, (0, 0, 96, 96), 2): preview}
    assert session.preview(0, (0, 0, 96, 96), 2) is preview
    version = session.model_version
    np.testing.assert_array_equal(session.result().proba, full)
    assert session.model_version == version + 1
    assert len(session.model.estimator_.estimators_) == 48
    assert session.model.training_summary_["estimated_miou"] == pytest.approx(estimate)
    assert session.suggestions()["accuracy"].startswith(f"estimated mean IoU {estimate:.2f}")
    assert session.snapshot().model is session.model
    assert session.export_model()  # a grown model saves


def test_two_classes_cannot_share_a_name():
    """The statistics and the model name classes by their names, so a name is one class's."""
    session = _session(32)
    session.rename_class(1, "phase 3")  # the name a new third class would have had
    third = session.add_class()
    assert third.name not in {c.name for c in session.classes if c is not third}
    with pytest.raises(PaintsegError, match="already named 'phase 2'"):
        session.rename_class(1, "phase 2")
    with pytest.raises(PaintsegError, match="already named 'phase 2'"):
        session.add_class("phase 2")
    session.rename_class(1, "phase 3")  # its own name again is no change
    assert [c.name for c in session.classes] == ["phase 3", "phase 2", third.name]


def test_a_model_taken_over_leaves_no_two_classes_of_one_name():
    """A model's class names replace the session's; a session class outside the model
    whose name the model uses takes a free default name instead."""
    from paintseg import Segmenter

    session = _session(32)
    extra = session.add_class("pore")
    image = np.random.default_rng(0).normal(size=(32, 32)).astype(np.float32)
    image[:, 16:] += 3
    strokes = np.zeros((32, 32), np.uint8)
    strokes[2:30, 2:6], strokes[2:30, 26:30] = 1, 2
    model = Segmenter(class_names=["pore", "matrix"], estimate=False).fit(image, strokes)
    session.use_model(model)
    names = {c.id: c.name for c in session.classes}
    assert names[1] == "pore" and names[2] == "matrix"
    assert names[extra.id] not in {"pore", "matrix"} and len(set(names.values())) == len(names)
