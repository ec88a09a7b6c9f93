"""The Dash app: routes for pictures, and callbacks between the page and sessions."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from urllib.parse import parse_qs

import dash
import numpy as np
from dash import Input, Output, State, no_update
from flask import Response, abort, request

from ..annotations import IGNORE, IGNORE_COLOUR
from ..demo import bundled_demo_path
from ..errors import PaintsegError
from ..features.spec import PRESETS
from ..io import MAX_FRAMES, as_image, read_frames, read_image
from ..probabilities import uncertainty
from . import render
from .classes_panel import register_classes
from .compute import Workers
from .features_panel import register_features
from .files_panel import MAX_UPLOAD_MB, register_files
from .frames import register_frames
from .layout import LAYER_HELP, build_layout
from .paint_panel import register_painting
from .state import Session, SessionStore
from .views import class_options, image_meta, parse_view, picture_urls

ASSETS = Path(__file__).parent / "assets"


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
    _register_session(app, store)
    _register_viewer(app)
    _register_guide(app, store)
    register_painting(app, store)
    register_classes(app, store)
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
                box, step = parse_view(request.args.get("box"), request.args.get("step"))
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


def _query_session(search: str | None) -> str | None:
    """The session id of a ``?session=<id>`` query string, if any."""
    return parse_qs((search or "").lstrip("?")).get("session", [None])[0]


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


def _register_session(app: dash.Dash, store: SessionStore) -> None:
    """The page's session (from its URL or its store), and the page redrawn from it
    whenever its revision counter moves."""

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
            info, overlay = picture_urls(session, probability_class)
            options = [{"label": f"{i + 1}. {e.name}", "value": i}
                       for i, e in enumerate(session.images)]
            model_classes = [] if session.model is None else [
                {"label": session.class_name(k), "value": int(k)} for k in session.model.classes_]
            prob_value = probability_class if probability_class in [
                o["value"] for o in model_classes] else (model_classes[0]["value"]
                                                         if model_classes else None)
            preset = session.features.name if session.features.name in PRESETS else "custom"
            return (options, session.current if session.images else None, image_meta(session),
                    class_options(session), selected, session.colours(), info, overlay,
                    model_classes, prob_value, preset, session.classifier,
                    ["on"] if session.snap_to_edges else [])



def _register_viewer(app: dash.Dash) -> None:
    """Stores and buttons whose changes go straight to the viewer's JavaScript."""
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



def _register_guide(app: dash.Dash, store: SessionStore) -> None:
    """The line that says what to do next, and the legend of the layer shown."""

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
