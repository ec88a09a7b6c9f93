"""Per-session server-side state of the app: images, strokes, classes, model, results.

Everything here is plain Python over the core (io, annotations, Segmenter); the
Dash callbacks only translate between this and the page. Each browser session has
its own ``Session``; nothing is shared between sessions.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..annotations import (
    IGNORE,
    IGNORE_COLOUR,
    MAX_CLASSES,
    MAX_NAME_LENGTH,
    MAX_STROKE_ID,
    Stroke,
    StrokeHistory,
)
from ..colours import DEFAULT_COLOURS
from ..errors import PaintsegError, size_text
from ..features import FeatureSpec, LatticeEstimate, estimate_lattice_period, resolve_spec
from ..guidance import suggest_regions
from ..io import Image, encode_mask, encode_probabilities, read_frames_bytes, read_mask_bytes
from ..model_io import segmenter_to_bytes
from ..project import Project, ProjectImage, ProjectWriter, is_project, read_project
from ..report import overlay_png
from ..segmenter import Segmenter, labels_from_proba
from ..tiles import PREVIEW_TREES, preview_proba
from .compute import Workers, fit_segmenter, grow_segmenter, predict_proba, warm_features

MODEL_SAVE_DELAY_S = 5.0  # a session's model is saved once it has not changed for this long
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
log = logging.getLogger(__name__)


def _clean_name(name: str | None) -> str:
    """A class name as given, trimmed and cut to ``MAX_NAME_LENGTH`` ('' for none)."""
    return (name or "").strip()[:MAX_NAME_LENGTH]


def _class_pixels(counts: np.ndarray) -> np.ndarray:
    """Pixels per label with the unpainted (0) and "ignore" labels counted as none."""
    painted = counts.copy()
    painted[[0, IGNORE]] = 0
    return painted


@dataclass
class ClassInfo:
    id: int
    name: str
    colour: str


@dataclass
class ImageEntry(ProjectImage):
    """An open image: its pixels, painting history and (lazily) its lattice period."""

    _lattice: LatticeEstimate | None = None

    @property
    def lattice(self) -> LatticeEstimate:
        """The image's lattice period estimate (computed once, ~30 ms)."""
        if self._lattice is None:
            self._lattice = estimate_lattice_period(self.image)
        return self._lattice

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape


@dataclass
class Result:
    model_version: int
    proba: np.ndarray
    labels: np.ndarray
    classes: np.ndarray

    @classmethod
    def of(cls, model_version: int, proba: np.ndarray, classes: np.ndarray) -> Result:
        """The result of probabilities, with their arg-max labels."""
        return cls(model_version, proba, labels_from_proba(proba, classes), classes)


@dataclass
class Session:
    """Everything one person has open in the app."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    images: list[ImageEntry] = field(default_factory=list)
    current: int = 0
    classes: list[ClassInfo] = field(default_factory=list)
    features: FeatureSpec = field(default_factory=lambda: resolve_spec("auto"))
    classifier: str = "extra_trees"
    period: float | None = None  # the user's lattice period (px), instead of the estimate
    snap_to_edges: bool = True  # borders between classes of different brightness on edges
    model: Segmenter | None = None
    model_version: int = 0
    results: dict[int, Result] = field(default_factory=dict)
    previews: dict[tuple, Result] = field(default_factory=dict)
    #: (images, masks) of a live training whose forest still lacks trees, and the last
    #: fully grown (model, version), which is what a snapshot saves meanwhile.
    unfinished: tuple | None = None
    last_grown: tuple = (None, 0)
    lock: threading.RLock = field(default_factory=threading.RLock)
    grow_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    #: one preview computed at a time: a request for the one being made waits for it
    preview_lock: threading.Lock = field(default_factory=threading.Lock, repr=False,
                                         compare=False)
    acknowledged: dict[str, int] = field(default_factory=dict)  # page -> last stroke seq
    optimisation: object | None = None  # the AutoML search of this session, if any
    last_used: float = field(default_factory=time.monotonic)
    workers: Workers | None = field(default=None, repr=False, compare=False)  # None: in-process

    def __post_init__(self) -> None:
        if not self.classes:
            self.add_class("phase 1")
            self.add_class("phase 2")

    # -- on disk ----------------------------------------------------------------------
    def snapshot(self) -> Project:
        """A consistent copy of what a project folder holds (histories copied, arrays
        shared: images never change in place)."""
        with self.lock:
            model, version = (self.model, self.model_version) if self.unfinished is None \
                else self.last_grown
            images = [ProjectImage(image=e.image, uid=e.uid, version=e.version,
                                   history=StrokeHistory(e.shape, list(e.history.operations)),
                                   stack=e.stack, frame=e.frame)
                      for e in self.images]
            return Project(images=images, classes=[vars(c).copy() for c in self.classes],
                           features=self.features, classifier=self.classifier,
                           period=self.period, snap_to_edges=self.snap_to_edges,
                           current=self.current, model=model,
                           model_version=version, session_id=self.id)

    @classmethod
    def from_project(cls, project: Project, session_id: str | None = None) -> Session:
        """The session a project folder describes, ready to use."""
        session = cls(id=session_id or project.session_id or uuid.uuid4().hex,
                      classes=[ClassInfo(**c) for c in project.classes] or [],
                      features=project.features or resolve_spec("auto"),
                      classifier=project.classifier, period=project.period,
                      snap_to_edges=project.snap_to_edges)
        session._unique_names(keep=set())
        session.images = [ImageEntry(image=p.image, history=p.history, version=p.version,
                                     uid=p.uid, stack=p.stack, frame=p.frame)
                          for p in project.images]
        session.current = project.current
        if project.model is not None:
            session.model = project.model
            session.model_version = project.model_version
        return session

    # -- images ---------------------------------------------------------------------
    def add_image(self, image: Image, *, stack: str | None = None, frame: int = 0,
                  warm: bool = True) -> int:
        """Open an image (a frame of ``stack`` when given) and make it the current one; its
        features start computing in the background unless ``warm`` is False."""
        with self.lock:
            self.images.append(ImageEntry(image=image, history=StrokeHistory(image.shape),
                                          stack=stack, frame=frame))
            self.current = len(self.images) - 1
            if warm:
                self.warm_features(self.current)
            return self.current

    def add_frames(self, frames: list[Image], name: str) -> int:
        """Open every frame of a file; a stack's frames share ``name`` and the page shows
        a frame slider. Only the first is prepared for training at once."""
        if len(frames) == 1:
            return self.add_image(frames[0])
        with self.lock:
            first = len(self.images)
            for k, frame in enumerate(frames):
                self.add_image(frame, stack=name, frame=k, warm=k == 0)
            self.current = first
            return first

    def add_upload(self, data: bytes, filename: str, max_pixels: int | None = None) -> int:
        """Open every frame of an uploaded file; the index of the first."""
        return self.add_frames(read_frames_bytes(data, filename, max_pixels=max_pixels), filename)

    def stack_of(self, index: int | None = None) -> list[int]:
        """The image indices of the stack the image belongs to, in frame order ([] if
        it is a single image)."""
        entry = self.entry(index)
        if entry.stack is None:
            return []
        same = [i for i, e in enumerate(self.images) if e.stack == entry.stack]
        return sorted(same, key=lambda i: self.images[i].frame)

    def entry(self, index: int | None = None) -> ImageEntry:
        """The image at ``index`` (the current one by default), or a one-line error."""
        if not self.images:
            raise PaintsegError("no image is open")
        index = self.current if index is None else index
        if not 0 <= index < len(self.images):
            raise PaintsegError(f"no image number {index + 1}")
        return self.images[index]

    def index_of(self, uid: str) -> int:
        """The index of the open image with this ``uid`` (an image's uid outlives
        reordering)."""
        for i, entry in enumerate(self.images):
            if entry.uid == uid:
                return i
        raise PaintsegError("that image is no longer open")

    def select(self, index: int) -> None:
        """Make the image at ``index`` the current one."""
        with self.lock:
            self.entry(index)
            self.current = index

    def warm_features(self, index: int) -> None:
        """Compute the current feature stack in the background, ready for training."""
        image, spec = self.images[index].image, self.features
        work = functools.partial(self._heavy, warm_features, image, spec, warm_up=True)
        threading.Thread(target=_quietly, args=(work,), daemon=True).start()

    # -- classes --------------------------------------------------------------------
    def add_class(self, name: str | None = None) -> ClassInfo:
        """A new class with the first free id and colour, named ``name`` or 'phase k' (the
        first such name no class has)."""
        with self.lock:
            used = {c.id for c in self.classes}
            new_id = next((k for k in range(1, MAX_STROKE_ID + 1) if k not in used), None)
            if new_id is None or len(used) >= MAX_CLASSES:
                raise PaintsegError(f"at most {MAX_CLASSES} classes")
            name = _clean_name(name)
            self._check_name_free(name)
            info = ClassInfo(new_id, name or self._free_name(new_id),
                             DEFAULT_COLOURS[(new_id - 1) % len(DEFAULT_COLOURS)])
            self.classes.append(info)
            return info

    def _unique_names(self, keep: set[int]) -> None:
        """Give a class whose name another class has (a model's class names taken over
        the session's, a project saved before names had to differ) the first free
        'phase k'; the classes in ``keep`` keep theirs."""
        for info in sorted(self.classes, key=lambda c: (c.id in keep, c.id)):
            if any(c.name == info.name and c is not info for c in self.classes):
                info.name = self._free_name(info.id)

    def _free_name(self, first: int) -> str:
        """The first 'phase k' from k = ``first`` on that no class is named."""
        taken = {c.name for c in self.classes}
        return next(f"phase {k}" for k in range(first, first + len(taken) + 1)
                    if f"phase {k}" not in taken)

    def _check_name_free(self, name: str, owner: ClassInfo | None = None) -> None:
        """A one-line error when a class other than ``owner`` is named ``name``."""
        if name and any(c.name == name and c is not owner for c in self.classes):
            raise PaintsegError(f"a class is already named '{name}'")

    def class_by_id(self, class_id: int) -> ClassInfo:
        """The class with this id, or a one-line error."""
        for c in self.classes:
            if c.id == int(class_id):
                return c
        raise PaintsegError(f"no class {class_id}")

    def rename_class(self, class_id: int, name: str) -> None:
        """Rename a class; a name another class has is refused (the statistics and the
        exported model name classes by it)."""
        name = _clean_name(name)
        if not name:
            return
        info = self.class_by_id(class_id)
        self._check_name_free(name, info)
        info.name = name

    def recolour_class(self, class_id: int, colour: str) -> None:
        """Give a class a colour ('#rrggbb')."""
        if not (isinstance(colour, str) and len(colour) == 7 and colour.startswith("#")):
            raise PaintsegError(f"not a colour: {colour!r}")
        self.class_by_id(class_id).colour = colour

    def delete_class(self, class_id: int) -> None:
        """Remove a class and its strokes (undoably); a model that knows it is dropped."""
        with self.lock:
            if len(self.classes) <= 1:
                raise PaintsegError("keep at least one class")
            info = self.class_by_id(class_id)
            self.classes.remove(info)
            for entry in self.images:
                if entry.history.counts()[info.id]:
                    entry.history.push("delete-class", info.id)
                    entry.version += 1
            if self.model is not None and info.id in set(self.model.classes_.tolist()):
                self.drop_model()  # its overlay and area fraction would outlive it

    def colours(self) -> dict[int, str]:
        """Each class's colour by id."""
        return {c.id: c.colour for c in self.classes}

    def class_name(self, class_id) -> str:
        """The name of a class, or its id when the session has no such class."""
        return next((c.name for c in self.classes if c.id == int(class_id)), str(class_id))

    def pixel_counts(self) -> dict[int, int]:
        """Painted pixels per class over every image."""
        counts = dict.fromkeys((c.id for c in self.classes), 0)
        for entry in self.images:
            per_label = entry.history.counts()
            for k in counts:
                counts[k] += int(per_label[k])
        return counts

    # -- strokes --------------------------------------------------------------------
    def add_stroke(self, data: dict) -> None:
        """Apply a stroke from the page (its image, points, width and class), checked."""
        with self.lock:
            try:
                stroke = Stroke.from_dict(data)
            except (TypeError, ValueError) as exc:
                raise PaintsegError(f"malformed stroke ({exc})") from None
            if stroke.label not in (0, IGNORE) and stroke.label not in {c.id for c in self.classes}:
                raise PaintsegError(f"no class {stroke.label}")
            uid = data.get("image")
            entry = self.entry(self.index_of(uid) if uid else None)
            entry.history.push("stroke", stroke)
            entry.version += 1

    def apply_queue(self, client: str, strokes: list[dict]) -> tuple[int, int]:
        """Apply the strokes of a page's queue not applied yet; (last seq, applied)."""
        with self.lock:
            last = self.acknowledged.get(client, 0)
            applied = 0
            for data in sorted(strokes, key=lambda s: int(s.get("seq", 0))):
                seq = int(data.get("seq", 0))
                if seq <= last:
                    continue
                try:
                    self.add_stroke(data)
                    applied += 1
                finally:
                    last = seq  # a malformed stroke is reported once, not retried
                    self.acknowledged[client] = last
            return last, applied

    def undo(self) -> bool:
        """Undo the current image's last stroke or clear; whether there was one."""
        with self.lock:
            entry = self.entry()
            done = entry.history.undo()
            entry.version += done
            return done

    def clear(self) -> None:
        """Clear the current image's strokes (undoably)."""
        with self.lock:
            entry = self.entry()
            entry.history.push("clear", None)
            entry.version += 1

    def import_strokes(self, data: bytes, filename: str) -> None:
        """Replace the current image's strokes with a label mask file (0 = none)."""
        with self.lock:
            entry = self.entry()
            mask = read_mask_bytes(data, filename)
            if mask.shape != entry.shape:
                raise PaintsegError(f"the strokes are {size_text(mask.shape)} but the image is "
                                    f"{size_text(entry.shape)}")
            if mask.max(initial=0) > IGNORE:
                raise PaintsegError(f"stroke masks hold class ids up to {MAX_STROKE_ID} "
                                    f"(and {IGNORE} for regions to ignore)")
            ids = {int(k) for k in np.unique(mask)} - {0, IGNORE}
            total = len(ids | {c.id for c in self.classes})
            if total > MAX_CLASSES:
                raise PaintsegError(f"{filename} holds {len(ids)} class ids: with the classes "
                                    f"already here that makes {total}, more than the "
                                    f"{MAX_CLASSES} a painting holds (is it an image?)")
            for k in sorted(ids - {c.id for c in self.classes}):
                info = ClassInfo(k, f"phase {k}", DEFAULT_COLOURS[(k - 1) % len(DEFAULT_COLOURS)])
                self.classes.append(info)
            self.classes.sort(key=lambda c: c.id)
            entry.history.push("mask", mask.astype(np.uint8))
            entry.version += 1

    # -- training and results ---------------------------------------------------------
    def set_features(self, spec: FeatureSpec) -> None:
        """Use another feature spec; the current image's features start computing."""
        with self.lock:
            if spec != self.features:
                self.features = spec
                if self.images:
                    self.warm_features(self.current)

    def drop_model(self) -> None:
        """Forget the model and its results (its overlay goes with it)."""
        with self.lock:
            self._install(None)

    def set_period(self, period: float | None) -> None:
        """Use ``period`` pixels for the lattice families (None: estimate from the images)."""
        with self.lock:
            if period is None:
                self.period = None
                return
            if not self.features.adaptive:
                raise PaintsegError(f"the '{self.features.name}' features have no lattice families "
                                    "to place: choose auto or stem")
            smallest = min((min(e.shape) for e in self.images), default=4096)
            if not 2.0 <= float(period) <= smallest / 2:
                raise PaintsegError(
                    f"lattice period {float(period):g} px is outside 2-{smallest / 2:g} px "
                    "for these images")
            self.period = float(period)

    def training_set(self) -> tuple[list[Image], list[np.ndarray], list[str], list[str]]:
        """Painted images, copies of their stroke masks, and the painted classes'
        names and colours (in class-id order): what training and the search see."""
        with self.lock:
            found = [(e, np.flatnonzero(_class_pixels(e.history.counts()))) for e in self.images]
            painted = [e for e, classes in found if len(classes)]
            if not painted:
                raise PaintsegError("paint some strokes first: at least two classes")
            present = sorted({int(k) for _, classes in found for k in classes})
            if len(present) < 2:
                raise PaintsegError(
                    f"only '{self.class_name(present[0])}' is painted: paint at least two classes")
            colours = self.colours()
            return ([e.image for e in painted], [e.history.mask.copy() for e in painted],
                    [self.class_name(k) for k in present], [colours[k] for k in present])

    def train(self, *, live: bool = False) -> dict:
        """Train on the strokes of every image; predict the current one.

        ``live`` (after each stroke in live mode) leaves out the full prediction and
        fits only the trees a preview uses: the page draws a ``preview`` first and asks
        for the full pictures after (``grown_model`` fits the remaining trees then, and
        the accuracy estimate with them, which ``suggestions`` hands to the page), so
        the overlay follows the strokes without waiting.
        """
        images, masks, names, colours = self.training_set()
        seg = Segmenter(features=self.features, classifier=self.classifier,
                        class_names=names, class_colours=colours,
                        period=self.period if self.features.adaptive else None,
                        snap_to_edges=self.snap_to_edges)
        with self.lock:
            index = self.current
            shown = None if live else self.entry(index).image
        t0 = time.perf_counter()
        first_trees = PREVIEW_TREES if live else None
        seg, proba = self._heavy(fit_segmenter, seg, images, masks, shown, first_trees)
        with self.lock:
            if self.unfinished is None:
                self.last_grown = (self.model, self.model_version)
            self._install(seg, (images, masks) if seg.trees_pending_ else None)
            if proba is not None:
                self.results[index] = Result.of(self.model_version, proba, seg.classes_)
        accuracy = ("live mode: the accuracy estimate follows the full overlay" if live
                    else seg.describe_accuracy())
        return {"seconds": time.perf_counter() - t0, **seg.training_summary_,
                "accuracy_text": accuracy}

    def suggestions(self, index: int | None = None, n: int = 3) -> dict:
        """Where to paint next on an image: the model's most uncertain regions far from
        the strokes (``guidance.suggest_regions``), or a sentence saying why there are none;
        with the whole model's accuracy estimate (``accuracy``), which a live training
        leaves to the grown forest."""
        result = self.result(index)
        if result is None:
            return {"boxes": [], "message": "train a model first: suggestions come from it"}
        with self.lock:
            strokes = self.entry(index).history.mask.copy()
            model = self.model
        boxes = suggest_regions(result.proba, strokes, n)
        message = "" if boxes else ("the model is sure everywhere, so there is nothing to suggest "
                                    "(sure is not the same as right: check the segmentation)")
        return {"boxes": boxes, "message": message, "accuracy": model.describe_accuracy()}

    def _install(self, model: Segmenter | None, unfinished: tuple | None = None) -> None:
        """Make ``model`` the session's (with the lock held): a new version, whose
        results and previews are still to be made. ``unfinished``: the images and
        masks a live training's forest is still to be grown on."""
        self.model, self.unfinished = model, unfinished
        self.model_version += 1
        self.results.clear()
        self.previews.clear()

    def grown_model(self) -> Segmenter | None:
        """The model with every tree of its forest: a live training fits the trees its
        preview uses, and the first use that needs the whole model fits the rest (the
        same forest a full training makes). Its version moves on, so it is saved."""
        with self.grow_lock:
            with self.lock:
                model, pending = self.model, self.unfinished
            if model is None or pending is None:
                return model
            grown = self._heavy(grow_segmenter, model, *pending)
            with self.lock:
                if self.model is model:  # no newer training meanwhile
                    self._install(grown)
                return self.model

    def result(self, index: int | None = None) -> Result | None:
        """The model's prediction for an image, computed once per model version."""
        self.grown_model()
        with self.lock:
            if self.model is None or not self.images:
                return None
            index = self.current if index is None else index
            cached = self.cached_result(index)
            if cached is not None:
                return cached
            model, version, image = self.model, self.model_version, self.entry(index).image
        proba = self._heavy(predict_proba, model, image)
        result = Result.of(version, proba, model.classes_)
        with self.lock:
            if version == self.model_version:
                self.results[index] = result
        return result

    def _heavy(self, function, *args, warm_up: bool = False):
        """Feature warm-ups, training, whole-image predictions and previews: on this
        session's worker process when the server has ``Workers`` (so pages keep
        answering; ``warm_up`` work is waited for there), else right here."""
        if self.workers is None:
            return function(*args)
        return self.workers.run(self.id, function, *args, warm_up=warm_up)

    def preview(self, index: int, box: tuple[int, int, int, int], step: int) -> Result | None:
        """The model's quick look at part of an image (``tiles.preview_proba``): every
        ``step``-th pixel of ``box``, kept for the model version it was made with."""
        with self.preview_lock:
            with self.lock:
                if self.model is None:
                    return None
                key = (index, tuple(box), int(step))
                cached = self.previews.get(key)
                if cached is not None and cached.model_version == self.model_version:
                    return cached
                model, version, image = self.model, self.model_version, self.entry(index).image
            proba = self._heavy(preview_proba, model, image, box, step)
            result = Result.of(version, proba, model.classes_)
            with self.lock:
                if version == self.model_version:
                    self.previews = {key: result}  # the newest only: previews are for one view
            return result

    def start_preview(self, index: int, box: tuple[int, int, int, int], step: int) -> None:
        """Begin the preview a live update's page is about to ask for, in a thread: it is
        under way while the answer travels and the page asks (its request then waits
        for it instead of starting it)."""
        def make() -> None:
            try:
                self.preview(index, box, step)
            except Exception as exc:  # noqa: BLE001 - the page's own request reports it
                log.debug("preview of session %s not made ahead: %s", self.id, exc)

        threading.Thread(target=make, name=f"preview-{self.id}", daemon=True).start()

    def cached_result(self, index: int | None = None) -> Result | None:
        """An image's prediction if it is already computed (never computes)."""
        with self.lock:
            cached = self.results.get(self.current if index is None else index)
            if cached is not None and cached.model_version == self.model_version:
                return cached
            return None

    def shown(self, index: int | None = None) -> np.ndarray:
        """Where the segmentation counts: False under the image's "ignore" strokes,
        which are left out of the overlay, the exported masks and every statistic."""
        with self.lock:
            return self.entry(index).history.mask != IGNORE

    def shown_labels(self, index: int | None = None) -> np.ndarray:
        """The segmentation with 0 (no class) where the user painted "ignore"."""
        return np.where(self.shown(index), self._require_result(index).labels, 0)

    def phase_fractions(self) -> dict[int, float]:
        """Area fraction of each class in the current image's segmentation, if known,
        over the pixels not painted "ignore"."""
        result = self.cached_result()
        if result is None:
            return {}
        shown = self.shown()
        counts = np.bincount(result.labels[shown], minlength=int(result.classes.max()) + 1)
        total = max(int(shown.sum()), 1)
        return {int(k): float(counts[int(k)]) / total for k in result.classes}

    def use_model(self, seg: Segmenter) -> None:
        """Use a fitted model as the session's: its classes' names and colours are taken,
        classes it adds are created, its feature spec is used, and results made with
        the model before are dropped (each image is predicted again when shown)."""
        with self.lock:
            for k, name, colour in zip(seg.classes_, seg.class_names_, seg.class_colours_,
                                       strict=True):
                try:
                    info = self.class_by_id(int(k))
                    info.name, info.colour = name, colour
                except PaintsegError:
                    self.classes.append(ClassInfo(int(k), name, colour))
            self.classes.sort(key=lambda c: c.id)
            self._unique_names(keep={int(k) for k in seg.classes_})
            self.features = seg.spec_
            self._install(seg)

    def import_model(self, data: bytes, filename: str) -> None:
        """Use the model in an uploaded model file (checked; no code from it is run)."""
        self.use_model(Segmenter.from_bytes(data, source=filename))

    # -- exports ----------------------------------------------------------------------
    def _require_result(self, index: int | None = None) -> Result:
        result = self.result(index)
        if result is None:
            raise PaintsegError("train a model first (or import one)")
        return result

    def export_mask(self, suffix: str) -> bytes:
        """The shown segmentation as a mask file (``.png`` or ``.tif``)."""
        return encode_mask(self.shown_labels(), suffix, self.colours())

    def export_probabilities(self) -> bytes:
        """The class probabilities as a float TIFF, one page per class."""
        result = self._require_result()
        return encode_probabilities(result.proba, [self.class_name(k) for k in result.classes])

    def export_model(self) -> bytes:
        """The session's model as a model file (the whole forest, grown if live mode left
        trees pending)."""
        model = self.grown_model()
        if model is None:
            raise PaintsegError("train a model first (or import one)")
        return segmenter_to_bytes(model)

    def export_strokes(self) -> bytes:
        """The current image's strokes as a palette PNG mask."""
        entry = self.entry()
        if not entry.history.mask.any():
            raise PaintsegError("this image has no strokes to export")
        return encode_mask(entry.history.mask, ".png", {**self.colours(), IGNORE: IGNORE_COLOUR})

    def export_overlay(self) -> bytes:
        """The segmentation over the image as a full-size PNG."""
        entry = self.entry()
        return overlay_png(entry.image, self.shown_labels(), self.colours(), max_side=None)

    def export_tiles(self, tile: int) -> bytes:
        """A zip of image / mask tile pairs (16-bit TIFF image, PNG mask) of every image."""
        import tifffile

        if not 16 <= tile <= 8192:
            raise PaintsegError("tile size must be between 16 and 8192 pixels")
        if self.model is None:
            raise PaintsegError("train a model first (or import one)")
        buffer = io.BytesIO()
        count = 0
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for index, entry in enumerate(self.images):
                labels = self.shown_labels(index)
                h, w = entry.shape
                stem = entry.name.rsplit(".", 1)[0] or f"image{index + 1}"
                for y in range(0, h - tile + 1, tile):
                    for x in range(0, w - tile + 1, tile):
                        name = f"{stem}_y{y:05d}_x{x:05d}"
                        img = io.BytesIO()
                        tifffile.imwrite(img, np.asarray(entry.image[y:y + tile, x:x + tile]))
                        zf.writestr(f"images/{name}.tif", img.getvalue())
                        zf.writestr(f"masks/{name}.png",
                                    encode_mask(labels[y:y + tile, x:x + tile], ".png"))
                        count += 1
            if count == 0:
                raise PaintsegError(f"the images are smaller than one {tile}x{tile} tile")
            classes = "\n".join(f"{c.id}\t{c.name}\t{c.colour}" for c in self.classes)
            zf.writestr("classes.tsv", "id\tname\tcolour\n" + classes + "\n")
        return buffer.getvalue()


def _quietly(fn, *args) -> None:
    # a warm-up that fails will fail again, visibly, in train()
    with contextlib.suppress(Exception):
        fn(*args)


class SessionStore:
    """The sessions of a server: in memory, and on disk when a folder is given.

    In memory, the least recently used sessions beyond ``capacity`` and those idle for
    longer than ``expire_after`` seconds are dropped (their memory freed). With
    ``data_dir``, every session is saved under ``data_dir/sessions/<id>`` after each
    change (see :meth:`save_touched`) and comes back from there on its next request,
    after eviction, expiry or a server restart. With ``project_dir``, every page opens
    that one project (created from ``initial_images`` when the folder is new).
    """

    def __init__(self, initial_images: list[Image | list[Image]] | None = None,
                 capacity: int = 64, *,
                 data_dir: Path | str | None = None, project_dir: Path | str | None = None,
                 expire_after: float | None = None, workers: Workers | None = None) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self.workers = workers
        self._writers: dict[str, ProjectWriter] = {}
        self._lock = threading.RLock()
        self._touched = threading.local()
        self.capacity = capacity
        self.initial_images = initial_images or []
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.project_dir = None if project_dir is None else Path(project_dir)
        self.expire_after = expire_after
        if self.project_dir is not None:  # open (a damaged one is refused now) or create it
            session = self._project_session()
            self._keep(session)
            self.save(session)

    @property
    def persistent(self) -> bool:
        return self.data_dir is not None or self.project_dir is not None

    def new(self) -> Session:
        """A session for a page that has none: the project's, or a fresh one."""
        if self.project_dir is not None:
            session = self._project_session()
        else:
            session = Session(workers=self.workers)
            self._open_initial(session)
        self._keep(session)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The session with this id, from memory or from disk; None if there is none."""
        if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                self._sessions.move_to_end(session_id)
        if session is None:
            session = self._from_disk(session_id)
            if session is None:
                return None
        self._keep(session)
        return session

    def require(self, session_id: str | None) -> Session:
        """The session with this id; PaintsegError (for the page) when there is none."""
        session = self.get(session_id)
        if session is None:
            raise PaintsegError("this session has expired: reload the page")
        return session

    def _keep(self, session: Session) -> None:
        session.last_used = time.monotonic()
        session.workers = self.workers
        touched = getattr(self._touched, "ids", None)
        if touched is not None:
            touched.add(session.id)
        with self._lock:
            self._sessions[session.id] = session
            self._sessions.move_to_end(session.id)
            self._drop_idle()

    def _drop_idle(self) -> None:
        now = time.monotonic()
        for sid, other in list(self._sessions.items()):
            too_many = len(self._sessions) > self.capacity
            idle = self.expire_after is not None and now - other.last_used > self.expire_after
            if not (too_many or idle):
                break  # ordered least recently used first
            self._save_quietly(other)
            del self._sessions[sid]
            if self.workers is not None:
                self.workers.forget(sid)
            writer = self._writers.get(sid)
            if writer is not None and not writer.busy:  # a busy one is flushed on reopening
                del self._writers[sid]

    def _folder(self, session_id: str) -> Path | None:
        if self.project_dir is not None:
            return self.project_dir
        if self.data_dir is not None:
            return self.data_dir / "sessions" / session_id
        return None

    def _from_disk(self, session_id: str) -> Session | None:
        folder = self._folder(session_id)
        if folder is None:
            return None
        with self._lock:
            writer = self._writers.get(session_id)
        if writer is not None:
            writer.flush()  # a model still being written
        if not is_project(folder):
            return None
        try:
            project = read_project(folder)
        except PaintsegError as exc:
            log.warning("session %s could not be reopened: %s", session_id, exc)
            return None
        if self.project_dir is not None and project.session_id != session_id:
            return None  # a page of another project
        return Session.from_project(project, session_id)

    def _project_session(self) -> Session:
        with self._lock:
            for session in self._sessions.values():
                return session  # project mode holds one session
        if is_project(self.project_dir):
            project = read_project(self.project_dir)
            return Session.from_project(project)
        session = Session(workers=self.workers)
        self._open_initial(session)
        return session

    def _open_initial(self, session: Session) -> None:
        """The images the server was started with (a list of frames is a stack)."""
        for item in self.initial_images:
            if isinstance(item, list):
                session.add_frames(item, item[0].name.rsplit(" [", 1)[0])
            else:
                session.add_image(item)
        session.current = 0

    # -- saving -----------------------------------------------------------------------
    def begin_request(self) -> None:
        """Start noting the sessions this thread's request uses (see save_touched)."""
        self._touched.ids = set()

    def save_touched(self) -> None:
        """Save the sessions the current request used: after every change, so that a
        restart or crash loses at most the change in flight."""
        ids = getattr(self._touched, "ids", None) or set()
        self._touched.ids = None
        for sid in ids:
            with self._lock:
                session = self._sessions.get(sid)
            if session is not None:
                self._save_quietly(session)

    def save(self, session: Session) -> None:
        """Write the session's changes to its folder (no-op without a folder)."""
        folder = self._folder(session.id)
        if folder is None:
            return
        with self._lock:
            writer = self._writers.get(session.id)
            if writer is None:
                writer = self._writers[session.id] = ProjectWriter(
                    folder, model_delay=MODEL_SAVE_DELAY_S)
        writer.save(session.snapshot())

    def _save_quietly(self, session: Session) -> None:
        try:
            self.save(session)
        except (OSError, PaintsegError) as exc:  # a full disk must not break the page
            log.error("could not save session %s: %s", session.id, exc)
