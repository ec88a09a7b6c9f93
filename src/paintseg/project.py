"""Projects on disk: images, strokes, classes, feature settings and model in one folder.

A project folder is what the app autosaves after every change and what
``paintseg app --project DIR`` opens, so that a restart, a crash or a session pushed
out of memory loses at most the last stroke. Its layout::

    project.json          format, version, classes, features, classifier, images
    images/<uid>.tif      each image's pixels as opened (pixel size in project.json)
    strokes/<uid>.json    each image's painting operations, replayable (exact undo)
    model.paintseg        the trained model, if any (loaded without running code)

Every file is written atomically (temporary file, then rename), and only what changed
since the last save is written: a stroke rewrites one small JSON file and
``project.json``. A folder written by an older format version opens in this one; a
newer one is refused with a message to upgrade.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .annotations import (
    MAX_NAME_LENGTH,
    StrokeHistory,
    operations_from_json,
    operations_to_json,
)
from .errors import PaintsegError
from .features import FeatureSpec
from .files import atomic_write_bytes, atomic_write_text
from .io import Image
from .model_io import segmenter_to_bytes
from .segmenter import Segmenter

PROJECT_FORMAT = "paintseg-project"
PROJECT_VERSION = 1
PROJECT_FILE = "project.json"
MODEL_FILE = "model.paintseg"
MAX_PROJECT_JSON = 16 * 2**20
UID_PATTERN = re.compile(r"^[0-9a-f]{6,32}$")
SESSION_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def new_uid() -> str:
    """A fresh random id for an image (also its file name in the project)."""
    return uuid.uuid4().hex[:12]


@dataclass
class ProjectImage:
    """One image of a project with its painting history."""

    image: Image
    history: StrokeHistory
    version: int = 0  # bumps when the strokes change; decides what a save rewrites
    uid: str = field(default_factory=new_uid)
    stack: str | None = None  # the file a frame of a stack came from
    frame: int = 0  # its frame number in that file (0-based)


@dataclass
class Project:
    """Everything a project folder holds, in memory."""

    images: list[ProjectImage] = field(default_factory=list)
    classes: list[dict] = field(default_factory=list)  # {"id", "name", "colour"}
    features: FeatureSpec | None = None
    classifier: str = "extra_trees"
    period: float | None = None
    snap_to_edges: bool = True  # borders on the image's edges (``edges``)
    current: int = 0
    model: Segmenter | None = None
    model_version: int = 0
    session_id: str | None = None  # the app session this project was saved from


def is_project(folder: Path | str) -> bool:
    """Whether ``folder`` holds a project (its ``project.json``)."""
    return (Path(folder) / PROJECT_FILE).is_file()


def read_project(folder: Path | str) -> Project:
    """Open the project in ``folder``; PaintsegError with one line when it is unreadable."""
    folder = Path(folder)
    meta = _read_meta(folder)
    try:
        project = Project(
            classes=[_class_from_json(c) for c in meta["classes"]],
            features=FeatureSpec.from_dict(meta["features"]),
            classifier=str(meta["classifier"]),
            period=None if meta.get("period") is None else float(meta["period"]),
            snap_to_edges=bool(meta.get("snap_to_edges", True)),
            current=int(meta.get("current", 0)),
            model_version=int(meta.get("model_version", 0)),
            session_id=_session_id(meta.get("session_id")),
        )
        project.images = [_read_image(folder, item) for item in meta["images"]]
    except PaintsegError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise PaintsegError(f"{folder / PROJECT_FILE}: malformed project ({exc})") from None
    project.current = min(max(project.current, 0), max(len(project.images) - 1, 0))
    if meta.get("model"):
        project.model = Segmenter.load(folder / MODEL_FILE)
    return project


def _read_meta(folder: Path) -> dict:
    path = folder / PROJECT_FILE
    if not path.is_file():
        raise PaintsegError(f"{folder} is not a paintseg project (no {PROJECT_FILE})")
    if path.stat().st_size > MAX_PROJECT_JSON:
        raise PaintsegError(f"{path} is larger than {MAX_PROJECT_JSON // 2**20} MB")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PaintsegError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != PROJECT_FORMAT:
        raise PaintsegError(f"{path} is not a paintseg project file")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise PaintsegError(f"{path}: no valid format version")
    if version > PROJECT_VERSION:
        raise PaintsegError(f"{path} was written by a newer paintseg (project format "
                            f"{version}); please upgrade paintseg")
    return meta


def _session_id(value) -> str | None:
    return value if isinstance(value, str) and SESSION_PATTERN.match(value) else None


def _class_from_json(item) -> dict:
    class_id, name, colour = int(item["id"]), str(item["name"]), str(item["colour"])
    if not 1 <= class_id <= 255 or not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        raise ValueError(f"bad class {class_id} {colour!r}")
    return {"id": class_id, "name": name[:MAX_NAME_LENGTH], "colour": colour}


def _read_image(folder: Path, item: dict) -> ProjectImage:
    import tifffile

    uid = str(item["uid"])
    if not UID_PATTERN.match(uid):
        raise ValueError(f"bad image id {uid!r}")
    path = folder / "images" / f"{uid}.tif"
    try:
        data = tifffile.imread(path)
    except FileNotFoundError:
        raise PaintsegError(f"{path} is missing from the project") from None
    except Exception as exc:  # tifffile raises many kinds on damaged files
        raise PaintsegError(f"{path}: unreadable image ({exc.__class__.__name__})") from None
    if data.ndim != 2:
        raise PaintsegError(f"{path}: expected a 2-D image, found shape {data.shape}")
    pixel_size = item.get("pixel_size")
    image = Image(data, pixel_size=None if pixel_size is None else float(pixel_size),
                  unit=str(item.get("unit", "px")), name=str(item.get("name", uid)))
    history = StrokeHistory(image.shape)
    strokes = folder / "strokes" / f"{uid}.json"
    if strokes.is_file():
        try:
            history.operations = operations_from_json(json.loads(strokes.read_text("utf-8")),
                                                      image.shape)
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            raise PaintsegError(f"{strokes}: malformed strokes ({exc})") from None
    stack = item.get("stack")
    return ProjectImage(image=image, history=history, uid=uid,
                        version=int(item.get("version", 0)),
                        stack=None if stack is None else str(stack), frame=int(item.get("frame", 0)))


class ProjectWriter:
    """Saves a project into its folder, writing only what changed since the last save.

    Images and strokes are written before ``save`` returns; a new model is written by
    a background thread after ``model_delay`` seconds, and only the newest model of
    that pause (serialising a forest takes a few tenths of a second of CPU, which live
    mode's retraining after every stroke should not pay; the model can always be
    retrained from the strokes). ``project.json`` names a model only once its file is
    complete. ``save`` is safe to call from several threads; the
    caller passes a consistent snapshot (see ``Session.snapshot``).
    """

    def __init__(self, folder: Path | str, *, model_delay: float = 0.0) -> None:
        self.folder = Path(folder)
        self.model_delay = model_delay
        self._lock = threading.Lock()
        self._stroke_versions: dict[str, int] = {}
        self._model_version: int | None = None  # the version whose file is on disk
        self._has_model = False
        self._pending: tuple[Segmenter | None, int] | None = None
        self._thread: threading.Thread | None = None
        self._meta: dict | None = None  # project.json but the model (no arrays: holds no memory)
        self._meta_text: str | None = None
        if is_project(self.folder):  # what is on disk already counts as saved
            try:
                meta = _read_meta(self.folder)
                self._stroke_versions = {str(i["uid"]): int(i.get("version", 0))
                                         for i in meta.get("images", [])}
                self._model_version = int(meta.get("model_version", 0))
                self._has_model = bool(meta.get("model"))
            except (PaintsegError, KeyError, TypeError, ValueError):
                pass

    def save(self, project: Project) -> None:
        """Write the images not yet on disk, changed strokes, the index; queue a new model."""
        with self._lock:
            for item in project.images:
                self._save_image(item)
                if self._stroke_versions.get(item.uid) != item.version:
                    ops = json.dumps(operations_to_json(item.history.operations),
                                     separators=(",", ":"))
                    atomic_write_text(self.folder / "strokes" / f"{item.uid}.json", ops)
                    self._stroke_versions[item.uid] = item.version
            self._meta = _meta(project)
            queued = self._pending[1] if self._pending else self._model_version
            if project.model_version != queued:
                self._pending = (project.model, project.model_version)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._write_models,
                                                    name="paintseg-model-save")
                    self._thread.start()
            self._write_meta()

    @property
    def busy(self) -> bool:
        """Whether a model is being written."""
        return self._thread is not None

    def flush(self, timeout: float | None = None) -> None:
        """Wait until a queued model is on disk."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _write_models(self) -> None:
        while True:
            time.sleep(self.model_delay)  # a newer model within the pause replaces this one
            with self._lock:
                if self._pending is None:
                    self._thread = None
                    return
                model, version = self._pending
                self._pending = None
            data = None if model is None else segmenter_to_bytes(model)
            with self._lock:
                path = self.folder / MODEL_FILE
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(path, data)
                self._model_version, self._has_model = version, data is not None
                self._write_meta()

    def _write_meta(self) -> None:  # with self._lock held
        if self._meta is None:
            return
        meta = {**self._meta, "model": MODEL_FILE if self._has_model else None,
                "model_version": self._model_version or 0}
        text = json.dumps(meta, indent=1)
        if text != self._meta_text:
            atomic_write_text(self.folder / PROJECT_FILE, text)
            self._meta_text = text

    def _save_image(self, item: ProjectImage) -> None:
        import tifffile

        path = self.folder / "images" / f"{item.uid}.tif"
        if path.is_file():
            return
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, np.asarray(item.image), compression="zlib")
        atomic_write_bytes(path, buffer.getvalue())


def write_project(folder: Path | str, project: Project) -> None:
    """Write ``project`` into ``folder`` (all of it, atomically file by file)."""
    writer = ProjectWriter(folder)
    writer.save(project)
    writer.flush()


def _meta(project: Project) -> dict:
    """project.json's content but the model fields, which follow what is on disk."""
    from . import __version__

    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "paintseg": __version__,
        "classes": project.classes,
        "features": project.features.to_dict() if project.features else None,
        "classifier": project.classifier,
        "period": project.period,
        "snap_to_edges": project.snap_to_edges,
        "current": project.current,
        "images": [{"uid": i.uid, "name": i.image.name, "shape": list(i.image.shape),
                    "pixel_size": None if i.image.pixel_size is None else float(i.image.pixel_size),
                    "unit": str(i.image.unit),
                    "version": i.version, "stack": i.stack, "frame": i.frame}
                   for i in project.images],
        "session_id": project.session_id,
    }
