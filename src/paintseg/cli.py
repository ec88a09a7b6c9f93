"""The ``paintseg`` command line: train, predict, stats, automl, demo, app.

Every command is a thin shell over the core (io, Segmenter); errors in the
user's input print one line and exit with status 1.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape  # messages name extras like 'paintseg[automl]'
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .errors import PaintsegError, size_text


def _help_type(param, ctx) -> str | None:
    """The type column of --help as people read it: PATH, NUMBER, TEXT... and nothing for
    on/off flags, instead of Typer's own <bool> / <list[Path]> notation."""
    label = param.display_type(ctx).strip("<>")
    if label == "bool":
        return None
    many = label.startswith("list[")
    label = label.removeprefix("list[").removesuffix("]")
    words = {"Path": "PATH", "path": "PATH", "file": "FILE", "directory": "FOLDER", "str": "TEXT",
             "int": "INTEGER", "float": "NUMBER", "int range": "INTEGER"}
    return words.get(label, label.upper()) + ("..." if many else "")


typer.core.TyperOption.display_type_rich = _help_type
typer.core.TyperArgument.display_type_rich = _help_type

app = typer.Typer(
    name="paintseg",
    help="Scribble-based segmentation of scientific images: paint a few strokes, segment all.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)  # progress, warnings and errors
out_console = Console()  # results: what was written, tables

ImagesArg = Annotated[list[Path], typer.Argument(help="Training images.")]
LabelsOpt = Annotated[list[Path], typer.Option("--labels", "-l",
                                               help="Stroke mask per image (0 = unlabelled).")]
ModelOut = Annotated[Path, typer.Option("--out", "-o", help="Model file to write.")]
FeaturesOpt = Annotated[str, typer.Option(
    help="Feature preset: auto (any image; lattice features follow the image's period), "
         "stem (atomic resolution), ilastik, weka.")]
PeriodOpt = Annotated[float | None, typer.Option(
    help="Lattice period in pixels, instead of the one estimated from the images.")]


@contextmanager
def _progress() -> Iterator[Progress]:
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
        console=err, transient=True,
    )
    with progress:
        yield progress


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"paintseg {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Scribble-based segmentation of scientific images: paint a few strokes, segment all."""


def _print_error(message: object) -> None:
    err.print(f"[bold red]error:[/] {escape(str(message))}", highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    _print_error(message)
    raise typer.Exit(1)


def _check_outputs(inputs: list[Path], outputs: list[tuple[str, Path | None]]) -> None:
    """One line, before any work, when an output would be written over one of the
    inputs, or names a folder where a file is meant (a Zarr store is a folder)."""
    from .lazy_io import is_zarr

    taken = {path.resolve() for path in inputs}
    for option, path in outputs:
        if path is None:
            continue
        if path.resolve() in taken:
            _fail(f"{option} {path} is one of the inputs; writing it would destroy it")
        if path.is_dir() and not is_zarr(path):
            _fail(f"{option} {path} is a folder: give a file name to write")


def _read_training(images: list[Path], labels: list[Path], on_read=None) -> tuple[list, list]:
    """The training images and their stroke masks, one mask per image."""
    from .io import read_image, read_mask

    if len(images) != len(labels):
        _fail(f"{len(images)} images but {len(labels)} --labels masks: give one mask per image, "
              "each after its own -l")
    pixels, masks = [], []
    for image_path, mask_path in zip(images, labels, strict=True):
        pixels.append(read_image(image_path))
        masks.append(read_mask(mask_path))
        if on_read:
            on_read()
    return pixels, masks


@app.command()
def train(
    images: ImagesArg,
    labels: LabelsOpt,
    out: ModelOut,
    features: FeaturesOpt = "auto",
    classifier: Annotated[str, typer.Option(
        help="extra_trees, random_forest, xgboost, lightgbm, demo_tpot.")] = "extra_trees",
    period: PeriodOpt = None,
    edges: Annotated[bool, typer.Option(
        "--edges/--no-edges",
        help="Let the image's edges place the unsure borders between classes of "
             "different brightness.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train a model from images and their stroke masks."""
    from .segmenter import Segmenter, pixel_size_nm

    _check_outputs(images + labels, [("--out", out)])
    with _progress() as progress:
        task = progress.add_task("reading", total=len(images) + 2)
        pixels, masks = _read_training(images, labels, lambda: progress.advance(task))
        seg = Segmenter(features=features, classifier=classifier, period=period,
                        snap_to_edges=edges, random_state=seed)
        seg.fit(pixels, masks, progress=lambda msg: progress.update(task, description=msg,
                                                                    advance=1))
        seg.save(out)
        progress.advance(task)
    summary = seg.training_summary_
    if resolve_spec_adaptive(features):
        out_console.print(seg.lattice_.describe(pixel_size_nm(pixels[0])), highlight=False)
    out_console.print(
        f"trained {len(seg.classes_)} classes on {sum(summary['labelled_pixels'].values()):,} "
        f"pixels, {summary['n_features']} features -> {out}"
    )
    out_console.print(seg.describe_accuracy(), highlight=False)
    if seg.edge_pairs_:
        names = seg.class_names_
        out_console.print("borders on the image's edges: " + ", ".join(
            f"{names[i]} / {names[j]}" for i, j in seg.edge_pairs_)
            + f" (edges read at up to {seg.edge_sigma_:g} px)", highlight=False)


def resolve_spec_adaptive(features: str) -> bool:
    """Whether a feature preset follows the image's lattice (so its period is worth printing)."""
    from .features import resolve_spec

    return resolve_spec(features).adaptive


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model file from train or the app.")],
    inputs: Annotated[list[Path], typer.Argument(
        help="Images, stacks, folders of images, or globs ('frames/*.tif').")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Mask file, or folder for several.")],
    proba: Annotated[bool, typer.Option("--proba", help="Also write probabilities (TIFF).")] = False,
    stats: Annotated[Path | None, typer.Option(
        help="Also measure each segmentation: table (.csv) of fractions, areas and regions.")] = None,
    report: Annotated[Path | None, typer.Option(
        help="Also write a measurement report (.html, opens offline).")] = None,
    tile: Annotated[int, typer.Option(
        help="Predict images larger than this many pixels a side in tiles of it, rounded up "
             "to a multiple of 64 (bounded memory; the result equals the whole-image "
             "prediction up to float rounding).", min=64)] = 1024,
    workers: Annotated[int | None, typer.Option(
        help="Run on a local Dask cluster of this many processes.", min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Run on an existing Dask cluster (tcp://host:port).")] = None,
) -> None:
    """Segment images with a trained model and write their masks (stacks frame by frame)."""
    from . import batch
    from .segmenter import Segmenter

    _check_suffix(stats, (".csv",), "--stats")
    _check_suffix(report, (".html", ".htm"), "--report")
    if (stats or report) and (workers or scheduler):
        _fail("--stats and --report measure in this process: leave out --workers/--scheduler, "
              "or measure the masks afterwards with paintseg stats")
    seg = Segmenter.load(model)
    sources = batch.expand_inputs(inputs)
    if not sources:
        _fail("no image files found in the inputs")
    jobs = batch.mask_targets(sources, out)
    _check_outputs(sources + [model], [("--out", path) for _, target in jobs
                                       for path in batch.output_paths(target, proba=proba)]
                   + [("--stats", stats), ("--report", report)])
    measured: list = []
    pending: list = []  # the frames of the file being segmented, kept if it succeeds

    def measure(image, probabilities) -> None:
        pending.append(_measure_prediction(seg, image, probabilities,
                                           len(measured) + len(pending)))

    def done(outcome) -> None:
        if not outcome.error:
            measured.extend(pending)
        pending.clear()
        progress.advance(task)

    with _progress() as progress:
        task = progress.add_task("segmenting", total=len(jobs))
        outcomes = batch.run(seg, jobs, proba=proba, tile=tile, workers=workers,
                             scheduler=scheduler, on_done=done,
                             on_frame=measure if stats or report else None)
    written = [path for outcome in outcomes for path in outcome.written]
    if measured:
        written += _write_measurements(measured, stats, report, model, seg)
    for path in written:
        out_console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    failed = [outcome for outcome in outcomes if outcome.error]
    for outcome in failed:
        _print_error(outcome.error)
    if len(jobs) > 1:
        frames = sum(outcome.frames for outcome in outcomes if not outcome.error)
        out_console.print(f"{len(jobs) - len(failed)} of {len(jobs)} files done ({frames} frames)"
                          + (f", {len(failed)} failed" if failed else ""), highlight=False)
    if failed:
        raise typer.Exit(1)


def _check_suffix(path: Path | None, suffixes: tuple[str, ...], option: str) -> None:
    if path is not None and path.suffix.lower() not in suffixes:
        _fail(f"{option} must end in {' or '.join(suffixes)}, not '{path.suffix or '(none)'}'")


def _measure_prediction(seg, image, probabilities, frame: int):
    """The measurement of one predicted image (its pixel size from the file)."""
    from .analysis import image_calibration, measure
    from .segmenter import labels_from_proba

    return measure(labels_from_proba(probabilities, seg.classes_), probabilities,
                   classes=seg.classes_.tolist(), class_names=list(seg.class_names_),
                   calibration=image_calibration(image), name=image.name, frame=frame), image


def _write_measurements(measured: list, stats: Path | None, report: Path | None, model: Path,
                        seg) -> list[Path]:
    """predict --stats / --report: one calibration for all images (pixels when they differ
    in having one), then the table and the report."""
    from .analysis import Calibration, common_calibration, measure, table_rows, write_table
    from .report import model_settings, write_report

    results, images = [m for m, _ in measured], [i for _, i in measured]
    try:
        cals = common_calibration([m.calibration for m in results], [m.name for m in results])
    except PaintsegError as exc:
        warnings.warn(f"{exc}; measuring every image in pixels", stacklevel=1)
        cals = [Calibration()] * len(results)
    if any(c != m.calibration for c, m in zip(cals, results, strict=True)):
        results = [measure(m.mask, classes=[c.id for c in m.classes],
                           class_names=[c.name for c in m.classes], calibration=cal,
                           name=m.name, frame=m.frame) if cal != m.calibration else m
                   for m, cal in zip(results, cals, strict=True)]
    written = []
    if stats:
        written.append(write_table(stats, table_rows(results)))
    if report:
        colours = dict(zip(seg.classes_.tolist(), seg.class_colours_, strict=True))
        written.append(write_report(report, results, images=images, colours=colours,
                                    settings=model_settings(seg, str(model))))
    return written


@app.command()
def stats(
    masks: Annotated[list[Path], typer.Argument(
        help="Label masks (0 = not counted, k = class k), or stacks of them (multi-page TIFF, "
             "3-D .npy): one row per (frame, class).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Table to write (.csv).")],
    proba: Annotated[list[Path] | None, typer.Option(
        help="Probability maps (TIFF from predict --proba), one per mask: the plausible range "
             "of each fraction.")] = None,
    image: Annotated[list[Path] | None, typer.Option(
        help="The image each mask segments (one per mask, or one for all): its pixel size, and "
             "the picture in the report.")] = None,
    pixel_size: Annotated[float | None, typer.Option(
        help="Pixel size, instead of the one the files carry (in --unit, nm by default).")] = None,
    unit: Annotated[str | None, typer.Option(
        help="Length unit of --pixel-size, or of the areas: nm, µm (um), Å...")] = None,
    class_names: Annotated[str | None, typer.Option(
        help="Names of classes 1, 2, 3... separated by commas.")] = None,
    min_region: Annotated[int, typer.Option(
        help="Merge regions under this many pixels into their surroundings first.", min=0)] = 0,
    fill_holes: Annotated[str | None, typer.Option(
        help="Classes (names or ids, commas) whose regions get their holes filled first.")] = None,
    regions: Annotated[Path | None, typer.Option(
        help="Also write one row per region (.csv).")] = None,
    report: Annotated[Path | None, typer.Option(
        help="Also write a report (.html, opens offline).")] = None,
) -> None:
    """Measure segmentations: area fraction and area of each class, regions and their sizes."""
    from .analysis import measure_series, region_table_rows, table_rows, write_table
    from .report import build_report

    _check_suffix(out, (".csv",), "--out")
    _check_suffix(regions, (".csv",), "--regions")
    _check_suffix(report, (".html", ".htm"), "--report")
    _check_outputs(masks + (proba or []) + (image or []),
                   [("--out", out), ("--regions", regions), ("--report", report)])
    inputs = _stats_inputs(masks, proba or [], image or [], pixel_size, unit)
    names = None if class_names is None else [n.strip() for n in class_names.split(",")]
    fill = _class_ids(fill_holes, names)
    results = measure_series(inputs["frames"], inputs["probas"], class_names=names,
                             calibrations=inputs["calibrations"], names=inputs["names"],
                             times=inputs["times"], time_unit=inputs["time_unit"],
                             min_region=min_region, fill_holes=fill)
    for i, c in enumerate(results[0].classes):
        if all(m.classes[i].pixels == 0 for m in results):
            warnings.warn(f"class '{c.name}' is in none of the masks (its fraction is 0)",
                          stacklevel=1)
    rows = table_rows(results)
    html = None if report is None else build_report(
        results, images=inputs["pictures"],
        settings={"masks": ", ".join(p.name for p in masks),
                  "probabilities": ", ".join(p.name for p in proba or []) or "none"})
    written = [write_table(out, rows)]  # everything is computed before the first write
    if regions is not None:
        written.append(write_table(regions, region_table_rows(results)))
    if html is not None:
        from .files import atomic_write_text

        atomic_write_text(report, html)
        written.append(report)
    _print_fractions(rows)
    for path in written:
        out_console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _class_ids(text: str | None, names: list[str] | None) -> list[int]:
    """'pore,2' -> class ids, by name (from --class-names) or by number."""
    ids = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        if part.isdigit():
            ids.append(int(part))
        elif names and part in names:
            ids.append(names.index(part) + 1)
        else:
            _fail(f"--fill-holes: no class '{part}'" + (
                f" (classes: {', '.join(names)})" if names else " (give ids, or --class-names)"))
    return ids


def _stats_inputs(masks: list[Path], probas: list[Path], images: list[Path],
                  pixel_size: float | None, unit: str | None) -> dict:
    """The frames of every mask file with their names, probabilities, calibrations (one
    unit for all), times and pictures, all checked before anything is measured."""
    from .analysis import (
        calibration,
        common_calibration,
        image_calibration,
        read_mask_frames,
        read_probability_frames,
    )
    from .io import read_image

    if probas and len(probas) != len(masks):
        _fail(f"{len(masks)} masks but {len(probas)} --proba files: give one per mask")
    if images and len(images) not in (1, len(masks)):
        _fail(f"{len(masks)} masks but {len(images)} --image files: give one per mask, or one")
    explicit = calibration(pixel_size, unit) if pixel_size is not None else None
    out = {"frames": [], "names": [], "calibrations": [], "pictures": [], "probas": [] if probas
           else None, "times": None, "time_unit": ""}
    for i, path in enumerate(masks):
        read = read_mask_frames(path)
        picture = None
        cal = read.calibration
        if images:
            picture = read_image(images[i if len(images) > 1 else 0])
            if picture.shape != read.frames[0].shape:
                _fail(f"{picture.name} is {size_text(picture.shape)} but {path.name} "
                      f"is {size_text(read.frames[0].shape)}")
            cal = image_calibration(picture) if image_calibration(picture).known else cal
        if explicit is not None:
            cal = explicit
        if probas:
            out["probas"] += read_probability_frames(probas[i], len(read.frames))
        n = len(read.frames)
        out["frames"] += read.frames
        out["names"] += [path.name] if n == 1 else [f"{path.name} [{t + 1}]" for t in range(n)]
        out["calibrations"] += [cal] * n
        out["pictures"] += [picture] * n
        if len(masks) == 1 and read.times:
            out["times"], out["time_unit"] = read.times, read.time_unit
    cals = common_calibration(out["calibrations"], out["names"])
    if unit is not None and explicit is None:
        source = masks[0].name + (" (or its --image)" if images else "")
        cals = [c.to(unit, source) for c in cals]
    out["calibrations"] = cals
    return out


def _print_fractions(rows: list[dict]) -> None:
    from rich.table import Table

    with_range = any(r["fraction_low"] is not None for r in rows)
    table = Table(show_lines=False)
    for column in ("image", "class", "fraction %") + (("plausible %",) if with_range else ()) + (
            f"area ({rows[0]['area_unit']})", "regions", f"mean diameter ({rows[0]['length_unit']})"):
        table.add_column(escape(column), justify="left" if column in ("image", "class") else "right")
    for r in rows[:200]:
        cells = [escape(str(r["image"])), escape(r["class"]), f"{100 * r['fraction']:.2f}"]
        if with_range:
            cells.append("" if r["fraction_low"] is None else
                         f"{100 * r['fraction_low']:.2f}-{100 * r['fraction_high']:.2f}")
        cells += [f"{r['area']:,.4g}", f"{r['regions']:,}",
                  "" if r["mean_diameter"] is None else f"{r['mean_diameter']:.4g}"]
        table.add_row(*cells)
    out_console.print(table)
    if len(rows) > 200:
        out_console.print(f"... {len(rows) - 200} more rows in the table", highlight=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")] = Path(
        "paintseg-demo"),
    size: Annotated[int, typer.Option(help="Image size in pixels.", min=32, max=8192)] = 512,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write a synthetic ADF-STEM demo image, its truth mask and sample strokes."""
    from .demo import write_demo

    with _progress() as progress:
        progress.add_task("generating demo image", total=None)
        paths = write_demo(out, size=size, seed=seed)
    for kind, path in paths.items():
        out_console.print(f"{kind:>8}: {path}", highlight=False, soft_wrap=True)


@app.command()
def automl(
    images: ImagesArg,
    labels: LabelsOpt,
    out: ModelOut,
    minutes: Annotated[float, typer.Option(help="Time budget of the search.")] = 5.0,
    export_code: Annotated[Path | None, typer.Option(help="Write the pipeline as Python code.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:port); default: local workers.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    features: FeaturesOpt = "auto",
    max_pixels: Annotated[int, typer.Option(help="Pixels per class the search sees.")] = 2000,
    workers: Annotated[int, typer.Option(help="Local worker processes.", min=1)] = 2,
) -> None:
    """Search for the best pixel classifier with TPOT on Dask (Ctrl-C keeps the best so far)."""
    import signal
    import threading

    from .automl import AutoMLSearch

    if export_code is not None and export_code.suffix != ".py":
        _fail("--export-code must name a .py file")
    _check_outputs(images + labels, [("--out", out), ("--export-code", export_code)])
    pixels, masks = _read_training(images, labels)
    search = AutoMLSearch(features, minutes=minutes, seed=seed, max_pixels_per_class=max_pixels,
                          scheduler=scheduler, n_workers=workers)
    outcome: dict = {}
    finished = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = search.run(pixels, masks)
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc
        finally:
            finished.set()

    def on_interrupt(signum, frame) -> None:
        if search.cancelled:  # a second Ctrl-C: give up at once
            raise KeyboardInterrupt
        search.cancel()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    threading.Thread(target=work, daemon=True).start()
    try:
        with _progress() as progress:
            task = progress.add_task("starting Dask workers", total=int(minutes * 60))
            while not finished.wait(0.5):
                if search.cancelled:
                    progress.update(task, description="stopping: keeping the best pipeline so far")
                    continue
                p = search.progress()
                best = "-" if p["best_score"] is None else f"{p['best_score']:.3f}"
                progress.update(task, completed=min(int(p["elapsed"]), int(minutes * 60)),
                                description=f"generation {p['generation']} · {p['evaluations']} "
                                            f"pipelines · best held-out score {best}")
    finally:
        signal.signal(signal.SIGINT, previous)
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]
    result.segmenter.save(out)
    if export_code is not None:
        from .files import atomic_write_bytes

        atomic_write_bytes(export_code, result.export_code().encode())
    _print_search(result, out, export_code)


def _print_search(result, out: Path, code: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Leaderboard (stroke-grouped cross-validation)", show_lines=False)
    for column in ("rank", "pipeline", "held-out score", "eval s", "features"):
        table.add_column(column)
    for i, row in enumerate(result.leaderboard[:10], start=1):
        table.add_row(str(i), escape(row["pipeline"]), f"{row['score']:.3f}",
                      str(row["eval_seconds"]), str(row["features"] or ""))
    out_console.print(table)
    chosen = "the default model" if result.kept_default else "the search's pipeline"
    out_console.print(
        f"{result.evaluations} pipelines evaluated{' (cancelled)' if result.cancelled else ''}; "
        f"saved {chosen} -> {out}\n{result.reason}\n"
        f"mean IoU, stroke-grouped CV: search {result.search_grouped_score:.3f}, default "
        f"{result.default_grouped_score:.3f}; plain pixel K-fold (optimistic): search "
        f"{result.pixel_kfold_score:.3f}, default {result.default_pixel_kfold_score:.3f}"
        + (f"\ncode: {code}" if code else ""))


@app.command(name="app")
def run_app(
    images: Annotated[list[Path] | None, typer.Argument(help="Images to open.")] = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8050,
    host: Annotated[str, typer.Option(
        help="Interface to serve on; other than loopback opens the app to the network.")
    ] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser",
                                             help="Do not open the page in a browser.")] = False,
    debug: Annotated[bool, typer.Option(help="Dash's development server, with reloading.")] = False,
    project: Annotated[Path | None, typer.Option(
        help="Project folder to open, or to create with the images given; saved after "
             "every change.")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder where every session is saved after each change "
             "(default: $PAINTSEG_DATA_DIR, else $XDG_DATA_HOME/paintseg or "
             "~/.local/share/paintseg).")] = None,
    expire_hours: Annotated[float, typer.Option(
        help="Hours after which an idle session leaves memory (its folder stays).")] = 24.0,
    processes: Annotated[int | None, typer.Option(
        help="Worker processes that train and predict, at a lower priority so pages keep "
             "answering while others train; 0: inside the server (default: 0 on loopback, "
             "else one per core, at most 4).")] = None,
) -> None:
    """Start the web app (on the bundled demo image when no image is given)."""
    from .app import serve

    if project is not None and project.exists() and not project.is_dir():
        _fail(f"--project {project}: not a folder")
    if not expire_hours > 0:
        _fail("--expire-hours must be positive")
    if processes is not None and not 0 <= processes <= 64:
        _fail("--processes must be between 0 and 64")
    if not 1 <= port <= 65535:  # the socket would wrap it to another port
        _fail(f"--port {port} is not a port: give one from 1 to 65535")
    serve(images or [], host=host, port=port, debug=debug, open_browser=not no_browser,
          data_dir=data_dir, project_dir=project, expire_hours=expire_hours,
          processes=processes)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line for people, without the source line Python shows."""
    err.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: run the CLI, turning input errors into one-line messages."""
    warnings.showwarning = _show_warning
    try:
        app()
    except PaintsegError as exc:
        _print_error(exc)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
