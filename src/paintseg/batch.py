"""Applying a model to many files: inputs, frames, outputs, and where the work runs.

``paintseg predict`` and any script share this: expand the inputs (files, folders,
globs), decide each output name, predict every frame of every file through the tiled
engine (so an image of any size runs in bounded memory), and write each mask
atomically, so a file that fails, or a run that is stopped, never leaves a
half-written mask that looks complete. One bad file does not stop the others: each
file's outcome (written paths, or the one-line reason it failed) is returned.

The work runs in this process by default, on a local cluster of processes with
``workers=N``, or on an existing dask.distributed cluster with ``scheduler=ADDRESS``;
the model is sent to the workers once.
"""

from __future__ import annotations

import glob
import io as _io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cluster import connect_scheduler, local_cluster
from .errors import PaintsegError
from .files import atomic_write_bytes
from .io import (
    SUPPORTED_SUFFIXES,
    Image,
    encode_mask,
    encode_probabilities,
    label_dtype_for,
    read_frames,
)
from .lazy_io import (
    ZARR_SUFFIX,
    LazyImage,
    is_zarr,
    open_lazy,
    write_label_array,
    write_label_stack,
    write_label_tiles,
)
from .segmenter import Segmenter, label_dtype, labels_from_proba
from .tiles import DEFAULT_TILE, predict_tiles, tile_side
from .tiles import predict as tiled_labels
from .tiles import predict_proba as tiled_proba


@dataclass
class FileOutcome:
    """What became of one input file."""

    source: Path
    written: list[Path] = field(default_factory=list)
    frames: int = 0
    error: str | None = None


def expand_inputs(inputs: Iterable[Path | str]) -> list[Path]:
    """Files named, the image files of folders named (sorted), and glob matches.

    A name that matches nothing stays in the list, to fail with its own message.
    """
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir() and not is_zarr(path):
            found += sorted(p for p in path.iterdir()
                            if (p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
                            or is_zarr(p))
        elif not path.exists() and glob.has_magic(str(item)):
            found += sorted(Path(p) for p in glob.glob(str(item)) if Path(p).is_file())
        else:
            found.append(path)
    return found


def mask_targets(sources: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """(source, mask path) pairs: ``out`` itself for one input and a file name, else
    ``out/<stem>_mask.png`` per input."""
    if len(sources) == 1 and out.suffix and (out.suffix.lower() == ZARR_SUFFIX or not out.is_dir()):
        if out.suffix.lower() not in (".png", ".tif", ".tiff", ZARR_SUFFIX):
            raise PaintsegError(f"--out must end in .png, .tif or .zarr (or be a folder), "
                                f"not '{out.suffix}'")
        return [(sources[0], out)]
    if out.exists() and not out.is_dir():
        raise PaintsegError(f"several inputs need a folder for --out, and {out} is a file")
    stems = [p.stem for p in sources]
    if len(set(stems)) != len(stems):
        twice = sorted({s for s in stems if stems.count(s) > 1})[0]
        raise PaintsegError(f"two inputs are named '{twice}'; their masks would overwrite each other")
    return [(p, out / f"{p.stem}_mask.png") for p in sources]


def predict_frames(seg: Segmenter, source: Path, *, tile: int = DEFAULT_TILE,
                   ) -> Iterator[tuple[Image, np.ndarray]]:
    """(frame, probabilities) for each frame of a file: one for an image, each for a
    stack (multi-page TIFF, DM/EMD/MRC series, 3-D NPY)."""
    for frame in read_frames(source):
        yield frame, tiled_proba(seg, frame, tile=tile)


def predict_file(seg: Segmenter, source: Path, target: Path, *, proba: bool = False,
                 tile: int = DEFAULT_TILE,
                 on_frame: Callable[[Image, np.ndarray], None] | None = None) -> FileOutcome:
    """Predict every frame of ``source`` and write its mask (a stack of masks as a
    multi-page TIFF, or as a 3-D array in a ``.zarr`` target) and, if asked, its
    probabilities; errors become the outcome."""
    outcome = FileOutcome(Path(source))
    try:
        wants_proba = proba or on_frame is not None
        if is_zarr(source) and wants_proba:
            raise PaintsegError(f"{Path(source).name}: a Zarr image is predicted tile by tile "
                                "into its mask only (no probabilities, no statistics)")
        lazy = None if wants_proba else open_lazy(source)
        if lazy is not None:  # huge, tiled or Zarr: read and written tile by tile
            with lazy:
                outcome.written = [_stream_mask(seg, lazy, Path(target), tile)]
            outcome.frames = 1
            return outcome
        labels, probas = [], []
        if wants_proba:  # keep the probabilities
            for frame, p in predict_frames(seg, source, tile=tile):
                labels.append(labels_from_proba(p, seg.classes_))
                if proba:
                    probas.append(p)
                if on_frame is not None:
                    on_frame(frame, p)
                outcome.frames += 1
        else:  # masks only: memory bounded by the image, its mask and one tile
            for frame in read_frames(source):
                labels.append(tiled_labels(seg, frame, tile=tile))
                outcome.frames += 1
        outcome.written = _write_outputs(seg, labels, probas, Path(target))
    except PaintsegError as exc:
        outcome.error = str(exc)
    except MemoryError:
        outcome.error = f"{Path(source).name}: not enough memory (try a smaller --tile)"
    except OSError as exc:  # an output folder that cannot be written, a full disk
        outcome.error = f"{Path(source).name}: cannot write output ({exc.strerror or exc})"
    except Exception as exc:  # e.g. a decoder's own error while a huge file is read tile by tile
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        outcome.error = (f"{Path(source).name}: failed ({exc.__class__.__name__}"
                         + (f": {detail})" if detail else ")"))
    return outcome


def _stream_mask(seg: Segmenter, image: LazyImage, target: Path, tile: int) -> Path:
    """Predict a lazily read image tile by tile into a tiled TIFF or Zarr mask."""
    dtype = label_dtype(seg.classes_)
    labels = (labels_from_proba(p, seg.classes_).astype(dtype, copy=False)
              for _, p in predict_tiles(seg, image, tile=tile))
    return write_label_tiles(target, image.shape, tile_side(tile), dtype, labels)


def _write_outputs(seg: Segmenter, labels: list[np.ndarray], probas: list[np.ndarray],
                   target: Path) -> list[Path]:
    colours = dict(zip(seg.classes_.tolist(), seg.class_colours_, strict=True))
    if len(labels) > 1:  # a stack: one multi-page TIFF (or 3-D Zarr array) of masks
        if len({m.shape for m in labels}) > 1:
            raise PaintsegError(f"{target.name}: the frames differ in size; cannot stack their masks")
        if target.suffix.lower() == ZARR_SUFFIX:
            write_label_stack(target, labels)
        else:
            target = target.with_suffix(".tif")
            atomic_write_bytes(target, _tiff_stack(labels))
    elif target.suffix.lower() == ZARR_SUFFIX:
        write_label_array(target, labels[0])
    else:
        atomic_write_bytes(target, encode_mask(labels[0], target.suffix, colours))
    written = [target]
    if probas:
        path = proba_path(target)
        data = (encode_probabilities(probas[0], seg.class_names_) if len(probas) == 1
                else _tiff_stack([np.moveaxis(p, 2, 0) for p in probas]))
        atomic_write_bytes(path, data)
        written.append(path)
    return written


def proba_path(target: Path) -> Path:
    """Where a mask's probabilities go: ``<stem>_proba.tif`` beside it."""
    stem = target.stem[: -len("_mask")] if target.stem.endswith("_mask") else target.stem
    return target.with_name(f"{stem}_proba.tif")


def output_paths(target: Path, *, proba: bool = False) -> list[Path]:
    """Every path a job of mask path ``target`` may write: the mask, its multi-page TIFF
    form for a stack (a Zarr store holds a stack itself), and its probabilities when
    asked."""
    paths = [target] if target.suffix.lower() == ZARR_SUFFIX else [target, target.with_suffix(".tif")]
    return paths + [proba_path(target)] if proba else paths


def _tiff_stack(frames: list[np.ndarray]) -> bytes:
    import tifffile

    buffer = _io.BytesIO()
    data = np.stack(frames)
    if data.dtype.kind in "iu":
        data = data.astype(label_dtype_for(int(data.max(initial=0))))
    tifffile.imwrite(buffer, data, compression="zlib", photometric="minisblack")
    return buffer.getvalue()


def run(seg: Segmenter, jobs: list[tuple[Path, Path]], *, proba: bool = False,
        tile: int = DEFAULT_TILE, workers: int | None = None, scheduler: str | None = None,
        on_done: Callable[[FileOutcome], None] | None = None,
        on_frame: Callable[[Image, np.ndarray], None] | None = None) -> list[FileOutcome]:
    """Predict every (source, target) job here, on ``workers`` local processes, or on
    the cluster at ``scheduler``; outcomes in job order. ``on_frame`` (measurements
    as frames are predicted) runs only here, not on a cluster."""
    if workers is None and scheduler is None:
        outcomes = []
        for source, target in jobs:
            outcomes.append(predict_file(seg, source, target, proba=proba, tile=tile,
                                         on_frame=on_frame))
            if on_done is not None:
                on_done(outcomes[-1])
        return outcomes
    return _run_distributed(seg, jobs, proba=proba, tile=tile, workers=workers,
                            scheduler=scheduler, on_done=on_done)


def _run_distributed(seg, jobs, *, proba, tile, workers, scheduler, on_done) -> list[FileOutcome]:
    from distributed import as_completed

    cluster = None
    if scheduler is not None:
        client = connect_scheduler(scheduler)
    else:
        client, cluster = local_cluster(int(workers))
    try:
        model = client.scatter(seg, broadcast=True)  # sent once, not with every file
        futures = {client.submit(predict_file, model, source, target, proba=proba, tile=tile,
                                 pure=False): i for i, (source, target) in enumerate(jobs)}
        outcomes: list[FileOutcome | None] = [None] * len(jobs)
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[futures[future]] = outcome
            if on_done is not None:
                on_done(outcome)
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
