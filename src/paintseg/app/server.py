"""The Dash app: routes for pictures, and callbacks between the page and sessions."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path
from urllib.parse import parse_qs

import dash
import numpy as np
from dash import Input, Output, State, ctx, html, no_update
from flask import Response, abort, request

from ..annotations import IGNORE, IGNORE_COLOUR
from ..demo import bundled_demo_path
from ..errors import PaintsegError
from ..features.spec import PRESETS
from ..io import MAX_FRAMES, as_image, read_frames, read_image
from ..probabilities import uncertainty
from . import render
from .compute import Workers
from .features_panel import register_features
from .files_panel import MAX_UPLOAD_MB, register_files
from .frames import register_frames
from .layout import LAYER_HELP, build_layout
from .messages import error as _error
from .messages import message as _message
from .state import Session, SessionStore

ASSETS = Path(__file__).parent / "assets"
MAX_PREVIEW_STEP = 16  # live previews sample at least every 16th pixel
PREVIEW_PIXELS = 300_000  # a live preview predicts at most about this many pixels


def _open(source):
    """An image to open at start: a file's frames (a list when it is a stack), or
    anything else ``io.as_image`` takes."""
    if isinstance(source, str | os.PathLike) and Path(source).is_file():
        frames = list(itertools.islice(read_frames(source), MAX_FRAMES))
        return frames if len(frames) > 1 else frames[0]
    return as_image(source)


def create_app(images=None, *, data_dir: Path | None = None, project_dir: Path | None = None,
               expire_after: float | None = None, processes: int | None = 0) -> dash.Dash:
    """Build the Dash app; ``images`` (paths, arrays, ``Image``s or HyperSpy signals:
    anything ``io.as_image`` takes) open in every new session.

    Sessions are saved under ``data_dir`` after every change (none when None); with
    ``project_dir`` every page opens that project folder. See ``SessionStore``.
    Trainings and whole-image predictions run on ``processes`` worker processes
    (``compute.Workers``; None: one per core; 0: in the request's own thread).
    """
    initial = [_open(p) for p in images or []] or [read_image(bundled_demo_path())]
    workers = Workers(processes) if processes != 0 else None
    if workers is not None:
        workers.start()
    store = SessionStore(initial, data_dir=data_dir, project_dir=project_dir,
                         expire_after=expire_after, workers=workers)
    app = dash.Dash(__name__, title="paintseg", assets_folder=str(ASSETS),
                    update_title=None, suppress_callback_exceptions=True)
    from .optimise import optimise_panel, register_optimise
    from .statistics import register_statistics

    app.layout = build_layout(optimise_panel(), upload_limit_mb=MAX_UPLOAD_MB)
    app.server.config["MAX_CONTENT_LENGTH"] = int(MAX_UPLOAD_MB * 4 * 2**20) + 16 * 2**20
    app.paintseg_store = store
    if store.persistent:
        app.server.before_request(store.begin_request)
        app.server.after_request(lambda response: (store.save_touched(), response)[1])
    _register_routes(app, store)
    _register_callbacks(app, store)
    register_optimise(app, store)
    register_frames(app, store)
    register_features(app, store)
    register_files(app, store)
    register_statistics(app, store)
    return app


# -- pictures -----------------------------------------------------------------------------
def _register_routes(app: dash.Dash, store: SessionStore) -> None:
    def png(data: bytes) -> Response:
        return Response(data, mimetype="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})

    def lookup(session_id: str, uid: str) -> tuple[Session, int]:
        session = store.get(session_id)
        if session is None:
            abort(404)
        try:
            return session, session.index_of(uid)
        except PaintsegError:
            abort(404)

    @app.server.route("/pictures/<session_id>/<uid>/image.png")
    def image_png(session_id, uid):
        session, index = lookup(session_id, uid)
        return png(render.display_png(session.images[index].image))

    @app.server.route("/pictures/<session_id>/<uid>/labels.png")
    def labels_png(session_id, uid):
        session, index = lookup(session_id, uid)
        with session.lock:
            mask = session.images[index].history.mask.copy()
            colours = {**session.colours(), IGNORE: IGNORE_COLOUR}
        return png(render.label_png(mask, colours))

    @app.server.route("/pictures/<session_id>/<uid>/<layer>.png")
    def layer_png(session_id, uid, layer):
        session, index = lookup(session_id, uid)
        preview = layer.startswith("preview-")
        try:
            if preview:  # a quick look at part of the image: ?box=r0,c0,r1,c1&step=s
                box, step = _parse_view(request.args.get("box"), request.args.get("step"))
                result = session.preview(index, box, step)
                shown = session.shown(index)[box[0]:box[2]:step, box[1]:box[3]:step]
            else:
                result = session.result(index)
                shown = session.shown(index)  # False where the user painted "ignore"
        except PaintsegError:
            abort(404)
        if result is None:
            abort(404)
        picture = _layer_picture(result, shown, layer.removeprefix("preview-"), session.colours())
        if picture is None:
            abort(404)
        return png(picture)

    @app.server.route("/pictures/<session_id>/<uid>/suggestions.json")
    def suggestions_json(session_id, uid):
        session, index = lookup(session_id, uid)
        try:
            return session.suggestions(index)
        except PaintsegError as exc:
            return {"boxes": [], "message": str(exc)}


def _layer_picture(result, shown: np.ndarray, layer: str, colours: dict) -> bytes | None:
    """PNG of a display layer of a result (None for an unknown layer or class); nothing
    is drawn where ``shown`` is False (regions painted "ignore")."""
    if layer == "segmentation":
        return render.label_png(np.where(shown, result.labels, 0), colours)
    if layer == "uncertainty":
        return render.heat_png(uncertainty(result.proba) * shown)
    if layer.startswith("probability-"):
        k = int(layer.split("-", 1)[1]) if layer.split("-", 1)[1].isdigit() else -1
        classes = list(map(int, result.classes))
        if k in classes:
            return render.heat_png(result.proba[:, :, classes.index(k)] * shown)
    return None


def _parse_view(box: str | None, step: str | None) -> tuple[tuple[int, int, int, int], int]:
    """'r0,c0,r1,c1' and 's' from a picture address; PaintsegError when malformed."""
    try:
        r0, c0, r1, c1 = (int(v) for v in (box or "").split(","))
        step = int(step or 1)
    except ValueError:
        raise PaintsegError("malformed preview address") from None
    if not (0 <= r0 < r1 and 0 <= c0 < c1 and 1 <= step <= MAX_PREVIEW_STEP):
        raise PaintsegError("malformed preview address")
    return (r0, c0, r1, c1), step


def _view_of(session: Session, view) -> tuple[tuple[int, int, int, int], int] | None:
    """The part of the current image the page shows, and the step that samples it at
    about screen resolution, from the page's ``{box: [x0, y0, x1, y1], scale}``."""
    if not isinstance(view, dict) or not session.images:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in view["box"])
        scale = float(view["scale"])
    except (KeyError, TypeError, ValueError):
        return None
    h, w = session.entry().shape
    r0, c0 = max(0, int(y0)), max(0, int(x0))
    r1, c1 = min(h, int(np.ceil(y1)) + 1), min(w, int(np.ceil(x1)) + 1)
    if r1 <= r0 or c1 <= c0 or not scale > 0:
        return None
    # about screen resolution, and never more than PREVIEW_PIXELS: a bounded cost
    step = max(np.ceil(1 / scale), np.ceil(np.sqrt((r1 - r0) * (c1 - c0) / PREVIEW_PIXELS)))
    return (r0, c0, r1, c1), int(min(MAX_PREVIEW_STEP, max(1, step)))


def _query_session(search: str | None) -> str | None:
    """The session id of a ``?session=<id>`` query string, if any."""
    return parse_qs((search or "").lstrip("?")).get("session", [None])[0]


def _picture_urls(session: Session, probability_class=None, view=None,
                  ) -> tuple[dict | None, dict | None]:
    """The image-info and overlay stores for the session's current image; with
    ``view`` (box, step) the overlay also names a preview of that part to draw first."""
    if not session.images:
        return None, None
    entry = session.entry()
    colour_key = hashlib.md5(repr(sorted(session.colours().items())).encode()).hexdigest()[:8]
    base = f"/pictures/{session.id}/{entry.uid}"
    image = entry.image
    info = {
        "key": entry.uid, "width": int(entry.shape[1]), "height": int(entry.shape[0]),
        "image_url": f"{base}/image.png",
        "labels_url": f"{base}/labels.png?v={entry.version}-{colour_key}",
        "pixel_size_nm": image.pixel_size_nm,
    }
    overlay = None
    if session.model is not None:
        v = f"?v={session.model_version}-{colour_key}"
        overlay = {"segmentation_url": f"{base}/segmentation.png{v}",
                   "uncertainty_url": f"{base}/uncertainty.png{v}",
                   "suggestions_url": f"{base}/suggestions.json{v}"}
        classes = list(map(int, session.model.classes_))
        k = int(probability_class) if probability_class in classes else classes[0]
        overlay["probability_url"] = f"{base}/probability-{k}.png{v}"
        if view is not None:
            (r0, c0, r1, c1), step = view
            q = f"{v}&box={r0},{c0},{r1},{c1}&step={step}"
            overlay["preview"] = {
                "box": [r0, c0, r1, c1],
                "segmentation_url": f"{base}/preview-segmentation.png{q}",
                "uncertainty_url": f"{base}/preview-uncertainty.png{q}",
                "probability_url": f"{base}/preview-probability-{k}.png{q}"}
    return info, overlay


def _class_options(session: Session) -> list[dict]:
    counts = session.pixel_counts()
    fractions = session.phase_fractions()
    options = []
    for c in session.classes:
        parts = [html.Span(className="swatch", style={"background": c.colour}),
                 html.Span(c.name, className="class-name"),
                 html.Span(f"{counts.get(c.id, 0):,} px", className="class-count",
                           title="painted pixels")]
        if c.id in fractions:
            parts.append(html.Span(f"{100 * fractions[c.id]:.1f} %", className="class-fraction",
                                   title="area fraction in the segmentation of this image"))
        options.append({"label": html.Span(parts, className="class-label"), "value": c.id})
    return options


def _image_meta(session: Session) -> str:
    if not session.images:
        return ""
    image = session.entry().image
    h, w = image.shape
    size = f"{w} × {h} px"
    if image.pixel_size is not None:
        size += f" · {image.pixel_size:.4g} {image.unit}/px"
    return size


def _next_step(session: Session, layer: str | None) -> str:
    """One line that says what to do next, from where this session stands."""
    if not session.images:
        return "Open an image: drop it on the page or use browse, at the top."
    painted = [k for k, n in session.pixel_counts().items() if n]
    if len(painted) < 2:
        return ("Next: pick a class on the left and paint a few strokes over its region; "
                "then the same for a second class.")
    if session.model is None:
        return "Next: press Train (T) to segment the whole image from your strokes."
    if layer != "uncertainty":
        return ("Next: switch Display to Uncertainty: bright regions are where the model is "
                "unsure; paint a few strokes there and train again.")
    return "When it looks right: Export the mask, the probabilities or the model (Export panel)."


def _retrain_live(session: Session):
    """Live mode after undo / clear: train on what is left, or say why the overlay went."""
    try:
        session.train(live=True)
    except PaintsegError as exc:
        session.drop_model()
        return _message(f"{exc} (live mode)", "hint")
    return ""


def _register_callbacks(app: dash.Dash, store: SessionStore) -> None:  # noqa: C901
    session_or_raise = store.require

    @app.callback(
        Output("session-id", "data"), Output("rev", "data", allow_duplicate=True),
        Input("url", "pathname"), State("url", "search"), State("session-id", "data"),
        State("rev", "data"),
        prevent_initial_call="initial_duplicate",
    )
    def open_session(_, search, session_id, rev):
        # ?session=<id> opens that session (the notebook hands its page such a URL)
        session = store.get(_query_session(search)) or store.get(session_id)
        if session is None:
            session = store.new()
        return session.id, (rev or 0) + 1

    @app.callback(
        Output("image-select", "options"), Output("image-select", "value"),
        Output("image-meta", "children"), Output("class-select", "options"),
        Output("class-select", "value"), Output("class-colours", "data"),
        Output("image-info", "data"), Output("overlay", "data"),
        Output("probability-class", "options"), Output("probability-class", "value"),
        Output("feature-preset", "value", allow_duplicate=True),
        Output("classifier", "value"), Output("snap-edges", "value"),
        Input("rev", "data"), State("session-id", "data"), State("class-select", "value"),
        State("probability-class", "value"),
        prevent_initial_call=True,
    )
    def render_session(_, session_id, selected, probability_class):
        session = store.get(session_id)
        if session is None:
            return (no_update,) * 13
        with session.lock:
            ids = [c.id for c in session.classes]
            selected = selected if selected in ids else ids[0]
            info, overlay = _picture_urls(session, probability_class)
            options = [{"label": f"{i + 1}. {e.name}", "value": i}
                       for i, e in enumerate(session.images)]
            model_classes = [] if session.model is None else [
                {"label": session.class_name(k), "value": int(k)} for k in session.model.classes_]
            prob_value = probability_class if probability_class in [
                o["value"] for o in model_classes] else (model_classes[0]["value"]
                                                         if model_classes else None)
            preset = session.features.name if session.features.name in PRESETS else "custom"
            return (options, session.current if session.images else None, _image_meta(session),
                    _class_options(session), selected, session.colours(), info, overlay,
                    model_classes, prob_value, preset, session.classifier,
                    ["on"] if session.snap_to_edges else [])

    # Stores and buttons whose changes go straight to the viewer's JavaScript.
    for method, component, prop in (("setImage", "image-info", "data"),
                                    ("setOverlay", "overlay", "data"),
                                    ("ack", "stroke-ack", "data"),
                                    ("fit", "fit-button", "n_clicks"),
                                    ("nextSuggestion", "next-suggestion", "n_clicks")):
        app.clientside_callback(
            f"function(v){{ if (window.paintseg) window.paintseg.{method}(v); return null; }}",
            Output("js-sink", "data", allow_duplicate=True), Input(component, prop),
            prevent_initial_call=True,
        )
    app.clientside_callback(
        """function(tool, width, label, colours, opacity, layer, strokes) {
            if (!window.paintseg) return null;
            window.paintseg.configure({
                tool: tool, width: width, label: label,
                colour: (colours || {})[label] || "#ffffff",
                overlayOpacity: opacity, show: layer,
                showStrokes: (strokes || []).indexOf("show") >= 0,
                showSuggestions: (strokes || []).indexOf("suggest") >= 0,
            });
            return null;
        }""",
        Output("js-sink", "data", allow_duplicate=True),
        Input("tool", "value"), Input("brush-width", "value"), Input("class-select", "value"),
        Input("class-colours", "data"), Input("overlay-opacity", "value"), Input("layer", "value"),
        Input("show-strokes", "value"),
        prevent_initial_call="initial_duplicate",
    )

    app.clientside_callback(
        "function(layer){ return {display: layer === 'probability' ? 'flex' : 'none'}; }",
        Output("probability-row", "style"), Input("layer", "value"),
    )

    @app.callback(
        Output("stroke-ack", "data"), Output("class-select", "options", allow_duplicate=True),
        Output("overlay", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Output("train-status", "children", allow_duplicate=True),
        Input("stroke-queue", "data"), State("session-id", "data"), State("live-mode", "value"),
        State("probability-class", "value"),
        prevent_initial_call=True,
        running=[(Output("live-busy", "children"), "updating…", "")],
    )
    def receive_strokes(queue, session_id, live, probability_class):
        if not queue or not queue.get("strokes"):
            return (no_update,) * 5
        try:
            session = session_or_raise(session_id)
            last, _ = session.apply_queue(str(queue.get("client", "")), queue["strokes"])
        except PaintsegError as exc:
            return no_update, no_update, no_update, _error(exc), no_update
        overlay, message, status = no_update, no_update, no_update
        if live and "live" in live:
            try:
                summary = session.train(live=True)
                view = _view_of(session, queue.get("view"))
                if view is not None:
                    session.start_preview(session.current, *view)
                overlay = _picture_urls(session, probability_class, view)[1]
                status = _train_status(summary)
                message = ""
            except PaintsegError as exc:
                message = _message(str(exc), "hint")
        return last, _class_options(session), overlay, message, status

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Output("train-status", "children", allow_duplicate=True),
        Input("train-button", "n_clicks"), State("session-id", "data"), State("rev", "data"),
        prevent_initial_call=True,
        running=[(Output("train-button", "disabled"), True, False),
                 (Output("train-status", "children"), "Training…", "")],
    )
    def train(_, session_id, rev):
        try:
            summary = session_or_raise(session_id).train()
        except PaintsegError as exc:
            return no_update, _error(exc), ""
        return rev + 1, "", _train_status(summary)

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Input("undo-button", "n_clicks"), Input("clear-button", "n_clicks"),
        Input("class-add", "n_clicks"), Input("class-delete", "n_clicks"),
        Input("image-select", "value"),
        State("class-select", "value"), State("session-id", "data"), State("rev", "data"),
        State("live-mode", "value"),
        prevent_initial_call=True,
        running=[(Output("live-busy", "children"), "updating…", "")],
    )
    def edit(undo, clear, add, delete, image_index, selected, session_id, rev, live):
        try:
            session = session_or_raise(session_id)
            trigger = ctx.triggered_id
            if trigger == "undo-button":
                if not session.undo():
                    return no_update, _message("nothing to undo", "hint")
            elif trigger == "clear-button":
                session.clear()
            if live and "live" in live and trigger in ("undo-button", "clear-button"):
                return rev + 1, _retrain_live(session)
            elif trigger == "class-add":
                session.add_class()
            elif trigger == "class-delete":
                session.delete_class(selected)
            elif trigger == "image-select":
                if image_index is None or image_index == session.current:
                    return no_update, no_update
                session.select(int(image_index))
        except PaintsegError as exc:
            return no_update, _error(exc)
        return rev + 1, ""

    @app.callback(
        Output("class-name", "value"), Output("class-colour", "value"),
        Input("class-select", "value"), Input("rev", "data"), State("session-id", "data"),
    )
    def show_class(selected, _, session_id):
        session = store.get(session_id)
        if session is None or selected is None:
            return no_update, no_update
        try:
            info = session.class_by_id(selected)
        except PaintsegError:
            return no_update, no_update
        return info.name, info.colour

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Input("class-name", "value"), Input("class-colour", "value"),
        State("class-select", "value"), State("session-id", "data"), State("rev", "data"),
        prevent_initial_call=True,
    )
    def edit_class(name, colour, selected, session_id, rev):
        session = store.get(session_id)
        if session is None or selected is None:
            return no_update, no_update
        try:
            info = session.class_by_id(selected)
            if ctx.triggered_id == "class-name" and name and name.strip() != info.name:
                session.rename_class(selected, name)
            elif ctx.triggered_id == "class-colour" and colour and colour != info.colour:
                session.recolour_class(selected, colour)
            else:
                return no_update, no_update
        except PaintsegError as exc:
            return no_update, _error(exc)
        return rev + 1, ""

    @app.callback(
        Output("next-step", "children"), Output("legend-text", "children"),
        Output("legend-bar", "style"),
        Input("rev", "data"), Input("layer", "value"), Input("stroke-ack", "data"),
        Input("train-status", "children"), State("session-id", "data"),
    )
    def guide(_, layer, __, ___, session_id):
        session = store.get(session_id)
        legend = LAYER_HELP.get(layer or "segmentation", "")
        bar = {"display": "none"} if layer in (None, "segmentation") else {}
        if session is None:
            return no_update, legend, bar
        return _next_step(session, layer), legend, bar



def _train_status(summary: dict):
    pixels = sum(summary["labelled_pixels"].values())
    trained = (f"Trained on {pixels:,} pixels, {len(summary['labelled_pixels'])} classes, "
               f"{summary['n_features']} features, in {summary['seconds']:.2f} s")
    accuracy = summary.get("accuracy_text")
    if not accuracy:
        return trained
    return [trained, html.Div(accuracy[:1].upper() + accuracy[1:] + ".", id="accuracy-estimate",
                              className="accuracy-estimate",
                              title="held out whole strokes in turn, and read the model's "
                                    "own probabilities over the image; no ground truth")]
