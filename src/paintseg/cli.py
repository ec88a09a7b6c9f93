"""The ``paintseg`` command line: train, predict, demo, app.

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

from .errors import PaintsegError


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


def _read_training(images: list[Path], labels: list[Path], on_read=None) -> tuple[list, list]:
    """The training images and their stroke masks, one mask per image."""
    from .io import read_image, read_mask

    if len(images) != len(labels):
        _fail(f"{len(images)} images but {len(labels)} --labels masks: give one mask per image")
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
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train a model from images and their stroke masks."""
    from .segmenter import Segmenter, pixel_size_nm

    with _progress() as progress:
        task = progress.add_task("reading", total=len(images) + 2)
        pixels, masks = _read_training(images, labels, lambda: progress.advance(task))
        seg = Segmenter(features=features, classifier=classifier, period=period, random_state=seed)
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


def resolve_spec_adaptive(features: str) -> bool:
    """Whether a feature preset follows the image's lattice (so its period is worth printing)."""
    from .features import resolve_spec

    return resolve_spec(features).adaptive


def _mask_targets(inputs: list[Path], out: Path) -> list[tuple[Path, Path]]:
    folder_mode = len(inputs) > 1 or out.is_dir() or out.suffix == ""
    if not folder_mode:
        if out.suffix.lower() not in (".png", ".tif", ".tiff"):
            _fail(f"--out must end in .png or .tif (or be a folder), not '{out.suffix}'")
        return [(inputs[0], out)]
    if out.exists() and not out.is_dir():
        _fail(f"several inputs need a folder for --out, and {out} is a file")
    stems = [p.stem for p in inputs]
    if len(set(stems)) != len(stems):
        _fail("two inputs share a file name; their masks would overwrite each other")
    return [(p, out / f"{p.stem}_mask.png") for p in inputs]


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model file from train or the app.")],
    inputs: Annotated[list[Path], typer.Argument(help="Images to segment.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Mask file, or folder for several.")],
    proba: Annotated[bool, typer.Option("--proba", help="Also write probabilities (TIFF).")] = False,
) -> None:
    """Segment images with a trained model and write their masks."""
    from .io import SUPPORTED_SUFFIXES, read_image, write_mask, write_probabilities
    from .segmenter import Segmenter, labels_from_proba

    seg = Segmenter.load(model)
    for path in inputs:
        if not path.is_file():
            _fail(f"input not found: {path}")
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            _fail(f"{path.name}: unsupported file type '{path.suffix}'")
    targets = _mask_targets(inputs, out)
    written: list[Path] = []
    with _progress() as progress:
        task = progress.add_task("segmenting", total=len(targets))
        for source, target in targets:
            progress.update(task, description=f"segmenting {source.name}")
            image = read_image(source)
            probabilities = seg.predict_proba(image)
            colours = dict(zip(seg.classes_.tolist(), seg.class_colours_, strict=True))
            written.append(write_mask(target, labels_from_proba(probabilities, seg.classes_),
                                      colours))
            if proba:
                stem = target.stem[: -len("_mask")] if target.stem.endswith("_mask") else target.stem
                written.append(write_probabilities(target.with_name(f"{stem}_proba.tif"),
                                                   probabilities, seg.class_names_))
            progress.advance(task)
    for path in written:
        out_console.print(f"wrote {path}", highlight=False, soft_wrap=True)


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
    workers: Annotated[int, typer.Option(help="Local worker processes.")] = 2,
) -> None:
    """Search for the best pixel classifier with TPOT on Dask (Ctrl-C keeps the best so far)."""
    import signal
    import threading

    from .automl import AutoMLSearch

    if export_code is not None and export_code.suffix != ".py":
        _fail("--export-code must name a .py file")
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
        help="Interface to serve on; other than 127.0.0.1 opens the app to the network.")
    ] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser",
                                             help="Do not open the page in a browser.")] = False,
    debug: Annotated[bool, typer.Option(help="Dash's development server, with reloading.")] = False,
    project: Annotated[Path | None, typer.Option(
        help="Project folder to open, or to create with the images given; saved after "
             "every change.")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder where every session is saved after each change "
             "[default: $PAINTSEG_DATA_DIR or ~/.local/share/paintseg].")] = None,
    expire_hours: Annotated[float, typer.Option(
        help="Hours after which an idle session leaves memory (its folder stays).")] = 24.0,
) -> None:
    """Start the web app (on the bundled demo image when no image is given)."""
    from .app import serve

    if project is not None and project.exists() and not project.is_dir():
        _fail(f"--project {project}: not a folder")
    if not expire_hours > 0:
        _fail("--expire-hours must be positive")
    serve(images or [], host=host, port=port, debug=debug, open_browser=not no_browser,
          data_dir=data_dir, project_dir=project, expire_hours=expire_hours)


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
