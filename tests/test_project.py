"""Projects on disk: round trips, the format fixture, autosave, eviction, expiry, restart."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO, start_app
from test_app_e2e import App

from paintseg.annotations import Stroke, StrokeHistory
from paintseg.app.state import Session, SessionStore
from paintseg.errors import PaintsegError
from paintseg.features import resolve_spec
from paintseg.io import Image
from paintseg.project import Project, ProjectImage, is_project, read_project, write_project

FIXTURE = REPO / "tests" / "data" / "project-v1"


def _image(seed=0, shape=(64, 80)) -> Image:
    rng = np.random.default_rng(seed)
    data = rng.normal(100, 10, shape).astype(np.float32)
    data[:, shape[1] // 2:] += 60  # two regions a forest separates at once
    return Image(data, pixel_size=0.25, unit="nm", name=f"img{seed}.tif")


def _painted_session(**kwargs) -> Session:
    session = Session(**kwargs)
    session.add_image(_image())
    session.add_stroke({"points": [[5, 5], [30, 50]], "width": 5, "label": 1})
    session.add_stroke({"points": [[50, 5], [70, 60]], "width": 5, "label": 2})
    return session


def test_a_project_round_trips_every_kind_of_operation(tmp_path):
    history = StrokeHistory((64, 80))
    history.push("stroke", Stroke(np.array([[3.25, 4.5], [60.0, 40.0]]), 6.0, 1))
    history.push("clear", None)
    mask = np.zeros((64, 80), np.uint8)
    mask[10:20, 10:30], mask[40:50, 50:70] = 2, 3
    history.push("mask", mask)
    history.push("delete-class", 3)
    history.push("stroke", Stroke(np.array([[1.0, 1.0]]), 3.0, 1))
    project = Project(images=[ProjectImage(_image(), history, version=5)],
                      classes=[{"id": k, "name": f"c{k}", "colour": "#12ab34"} for k in (1, 2)],
                      features=resolve_spec("ilastik"), classifier="random_forest", period=7.5,
                      snap_to_edges=False, current=0, session_id="a" * 32)
    write_project(tmp_path, project)
    back = read_project(tmp_path)
    assert back.classes == project.classes and back.classifier == "random_forest"
    assert back.features == project.features and back.period == 7.5
    assert back.snap_to_edges is False
    assert back.session_id == "a" * 32
    item = back.images[0]
    assert item.version == 5 and item.image.pixel_size == 0.25 and item.image.unit == "nm"
    assert item.image.name == "img0.tif" and item.image.dtype == np.float32
    np.testing.assert_array_equal(item.image, project.images[0].image)
    np.testing.assert_array_equal(item.history.mask, history.mask)
    assert len(item.history.operations) == 5
    item.history.undo()  # the history, not just the mask, came back
    assert (item.history.mask == 3).sum() == 0 and (item.history.mask == 2).sum() == 200
    item.history.undo()
    assert (item.history.mask == 3).sum() == 200


def test_the_model_is_saved_and_reopened(tmp_path):
    session = _painted_session()
    session.train()
    write_project(tmp_path, session.snapshot())
    reopened = Session.from_project(read_project(tmp_path))
    assert reopened.id == session.id and reopened.model is not None
    np.testing.assert_array_equal(reopened.model.predict(session.images[0].image),
                                  session.model.predict(session.images[0].image))


def test_borders_on_edges_off_trains_without_them_and_is_saved(tmp_path):
    session = _painted_session()
    session.snap_to_edges = False
    session.train()
    assert session.model.edge_pairs_ == [] and not session.model.snap_to_edges
    write_project(tmp_path, session.snapshot())
    reopened = Session.from_project(read_project(tmp_path))
    assert reopened.snap_to_edges is False
    reopened.train()
    assert not reopened.model.snap_to_edges


def test_a_project_written_by_format_1_opens():
    project = read_project(FIXTURE)
    assert [c["name"] for c in project.classes] == ["matrix", "precipitate"]
    assert project.features.name == "auto" and project.classifier == "extra_trees"
    assert project.snap_to_edges  # written before the setting existed: the default
    assert len(project.images) == 1 and project.images[0].image.shape == (48, 64)
    counts = np.bincount(project.images[0].history.mask.ravel(), minlength=3)
    assert counts[1] > 50 and counts[2] > 50
    session = Session.from_project(project)
    session.train()  # what was painted trains as it did
    assert session.result().labels.shape == (48, 64)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(version=99), "newer paintseg"),
    (lambda m: m.update(format="other"), "not a paintseg project"),
    (lambda m: m["images"][0].update(uid="../../etc"), "bad image id"),
    (lambda m: m["classes"][0].update(colour="red"), "malformed project"),
    (lambda m: m.pop("features"), "malformed project"),
])
def test_damaged_projects_are_refused_with_one_line(tmp_path, change, message):
    shutil.copytree(FIXTURE, tmp_path / "p")
    meta = json.loads((tmp_path / "p" / "project.json").read_text())
    change(meta)
    (tmp_path / "p" / "project.json").write_text(json.dumps(meta))
    with pytest.raises(PaintsegError, match=message) as info:
        read_project(tmp_path / "p")
    assert "\n" not in str(info.value)


def test_damaged_strokes_and_missing_images_are_refused(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "p")
    uid = json.loads((tmp_path / "p" / "project.json").read_text())["images"][0]["uid"]
    (tmp_path / "p" / "strokes" / f"{uid}.json").write_text('[{"kind": "explode"}]')
    with pytest.raises(PaintsegError, match="malformed strokes"):
        read_project(tmp_path / "p")
    (tmp_path / "p" / "images" / f"{uid}.tif").unlink()
    with pytest.raises(PaintsegError, match="missing"):
        read_project(tmp_path / "p")


def test_every_change_is_saved_and_an_evicted_session_comes_back(tmp_path):
    store = SessionStore([_image()], capacity=1, data_dir=tmp_path)
    store.begin_request()
    first = store.new()
    first.add_stroke({"points": [[5, 5], [30, 50]], "width": 5, "label": 1})
    store.save_touched()
    folder = tmp_path / "sessions" / first.id
    assert is_project(folder)
    saved = read_project(folder).images[0].history.mask
    np.testing.assert_array_equal(saved, first.images[0].history.mask)

    second = store.new()  # capacity 1: the first leaves memory
    assert store.get(second.id) is second
    back = store.get(first.id)
    assert back is not first and back.id == first.id
    np.testing.assert_array_equal(back.images[0].history.mask, first.images[0].history.mask)
    assert store.get("0" * 32) is None and store.get("../../etc") is None


def test_idle_sessions_expire_from_memory_and_keep_their_folder(tmp_path):
    store = SessionStore([_image()], data_dir=tmp_path, expire_after=0.05)
    idle = store.new()
    time.sleep(0.1)
    store.new()
    assert idle.id not in store._sessions  # its memory is free
    assert is_project(tmp_path / "sessions" / idle.id)
    assert store.get(idle.id).id == idle.id


def test_a_new_server_on_the_same_folder_reopens_sessions_and_models(tmp_path):
    store = SessionStore([_image()], data_dir=tmp_path)
    store.begin_request()
    session = store.new()
    session.add_stroke({"points": [[5, 5], [30, 50]], "width": 5, "label": 1})
    session.add_stroke({"points": [[50, 5], [70, 60]], "width": 5, "label": 2})
    session.train()
    store.save_touched()
    store._writers[session.id].flush()
    again = SessionStore([_image()], data_dir=tmp_path).get(session.id)
    assert again.model is not None and again.model_version == session.model_version
    assert [c.name for c in again.classes] == [c.name for c in session.classes]


def test_project_mode_creates_the_folder_and_reopens_it_exactly(tmp_path):
    folder = tmp_path / "my project"
    store = SessionStore([_image()], project_dir=folder)
    assert is_project(folder)  # created at start, before any page
    store.begin_request()
    session = store.new()
    assert store.new() is session  # every page opens the one project
    session.add_stroke({"points": [[5, 5], [30, 50]], "width": 5, "label": 1})
    session.rename_class(1, "matrix")
    store.save_touched()
    reopened = SessionStore([], project_dir=folder).new()
    assert reopened.id == session.id and reopened.classes[0].name == "matrix"
    np.testing.assert_array_equal(reopened.images[0].history.mask,
                                  session.images[0].history.mask)


def test_the_cli_refuses_a_damaged_project_in_one_line(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "project.json").write_text("{not json")
    r = subprocess.run([sys.executable, "-m", "paintseg.cli", "app", "--no-browser",
                        "--project", str(tmp_path / "p")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    assert "not valid JSON" in r.stderr and "Traceback" not in r.stderr


# -- a real server process, killed and started again ------------------------------------
@pytest.mark.browser
def test_a_killed_server_loses_nothing_but_the_stroke_in_flight(browser, tmp_path):
    proc, url = start_app("--data-dir", str(tmp_path))
    port = int(url.rsplit(":", 1)[1].strip("/"))
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        app = App(context.new_page(), url)
        app.stroke([(40, 40), (200, 60)])
        app.select_class(1)
        app.stroke([(300, 400), (450, 420)])
        before = app.counts()
        assert before[0] > 100 and before[1] > 100
        proc.send_signal(signal.SIGKILL)  # a crash: no shutdown code runs
        proc.wait(10)
        proc, _ = start_app("--data-dir", str(tmp_path), port=port)
        app.page.reload()  # the tab keeps its session id; the new server reads it from disk
        app.page.wait_for_function("() => window.paintseg && window.paintseg.state.image")
        assert app.counts() == before
        app.select_class(1)
        app.stroke([(100, 250), (200, 260)])  # and painting goes on
        assert app.counts()[1] > before[1]
        app.train()
        assert not app.errors, app.errors
    finally:
        context.close()
        proc.terminate()
        proc.wait(10)

