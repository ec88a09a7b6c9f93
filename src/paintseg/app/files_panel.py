"""Files in and out of a session: uploads (checked for size in the browser first),
imported models and strokes, and every export (masks, probabilities, model, strokes,
overlay, training tiles)."""

from __future__ import annotations

import base64
import os

import dash
from dash import Input, Output, State, ctx, no_update

from ..errors import PaintsegError, collecting_notes
from .layout import file_input
from .messages import error as _error
from .messages import message as _message

MAX_UPLOAD_MB = float(os.environ.get("PAINTSEG_MAX_UPLOAD_MB", 1024))


def _decode_upload(contents: str, filename: str) -> bytes:
    if not contents or "," not in contents:
        raise PaintsegError(f"{filename}: empty upload")
    header, payload = contents.split(",", 1)
    size_mb = len(payload) * 3 / 4 / 2**20
    if size_mb > MAX_UPLOAD_MB:
        raise PaintsegError(f"{filename} is {size_mb:.0f} MB, over the upload limit of "
                            f"{MAX_UPLOAD_MB:.0f} MB")
    return base64.b64decode(payload)


def register_files(app: dash.Dash, store) -> None:
    """Uploads, imports and exports of a session."""
    session_or_raise = store.require

    # Oversized files are stopped in the browser, before they are sent: only their names
    # and sizes go on to the server, which answers for every file of the drop.
    app.clientside_callback(
        """function(contents, names, limitMb) {
            if (!contents) return window.dash_clientside.no_update;
            const checked = {contents: [], names: [], refused: []};
            contents.forEach(function (c, i) {
                const mb = (c.length - c.indexOf(",") - 1) * 0.75 / 1048576;
                if (mb > limitMb) checked.refused.push(names[i] + " is " + Math.round(mb) +
                    " MB, over the upload limit of " + limitMb + " MB");
                else { checked.contents.push(c); checked.names.push(names[i]); }
            });
            return checked;
        }""",
        Output("upload-checked", "data"),
        Input("upload-image", "contents"), State("upload-image", "filename"),
        State("upload-limit", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Output("upload-image-slot", "children"),
        Input("upload-checked", "data"),
        State("session-id", "data"), State("rev", "data"),
        prevent_initial_call=True,
        running=[(Output("upload-busy", "children"), "Reading upload…", "")],
    )
    def upload_images(checked, session_id, rev):
        if not checked:
            return no_update, no_update, no_update
        fresh = file_input("upload-image")
        session = store.get(session_id)
        if session is None:
            return no_update, _error(PaintsegError("this session has expired: reload the page")), fresh
        opened, problems, notes = [], list(checked.get("refused", [])), []
        for content, name in zip(checked["contents"], checked["names"], strict=False):
            try:
                with collecting_notes() as said:
                    session.add_upload(_decode_upload(content, name), name)
                notes += said
                opened.append(name)
            except PaintsegError as exc:
                problems.append(str(exc))
        new_rev = rev + 1 if opened else no_update
        if problems:
            return new_rev, _message("; ".join(problems + notes), "error"), fresh
        if notes:
            return new_rev, _message(f"opened {', '.join(opened)}; " + "; ".join(notes), "hint"), fresh
        return new_rev, _message(f"opened {', '.join(opened)}", "ok"), fresh

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Output("import-model-slot", "children"), Output("import-strokes-slot", "children"),
        Input("import-model", "contents"), Input("import-strokes", "contents"),
        State("import-model", "filename"), State("import-strokes", "filename"),
        State("session-id", "data"), State("rev", "data"),
        prevent_initial_call=True,
    )
    def import_files(model, strokes, model_name, strokes_name, session_id, rev):
        trigger = ctx.triggered_id
        if not (model if trigger == "import-model" else strokes):
            return no_update, no_update, no_update, no_update
        fresh = (file_input("import-model") if trigger == "import-model" else no_update,
                 file_input("import-strokes") if trigger == "import-strokes" else no_update)
        try:
            session = session_or_raise(session_id)
            if trigger == "import-model":
                session.import_model(_decode_upload(model, model_name), model_name)
                return rev + 1, _message(f"using model {model_name}", "ok"), *fresh
            session.import_strokes(_decode_upload(strokes, strokes_name), strokes_name)
            return rev + 1, _message(f"imported strokes from {strokes_name}", "ok"), *fresh
        except PaintsegError as exc:
            return no_update, _error(exc), *fresh

    @app.callback(
        Output("download", "data"), Output("message", "children", allow_duplicate=True),
        Input("export-mask-png", "n_clicks"), Input("export-mask-tif", "n_clicks"),
        Input("export-proba", "n_clicks"), Input("export-model", "n_clicks"),
        Input("export-strokes", "n_clicks"), Input("export-overlay", "n_clicks"),
        Input("export-tiles", "n_clicks"), State("tile-size", "value"),
        State("session-id", "data"),
        prevent_initial_call=True,
    )
    def export(*args):
        tile, session_id = args[-2], args[-1]
        try:
            session = session_or_raise(session_id)
            stem = session.entry().name.rsplit(".", 1)[0] or "image"
            trigger = ctx.triggered_id
            if trigger == "export-mask-png":
                data, name = session.export_mask(".png"), f"{stem}_mask.png"
            elif trigger == "export-mask-tif":
                data, name = session.export_mask(".tif"), f"{stem}_mask.tif"
            elif trigger == "export-proba":
                data, name = session.export_probabilities(), f"{stem}_proba.tif"
            elif trigger == "export-model":
                data, name = session.export_model(), "model.paintseg"
            elif trigger == "export-strokes":
                data, name = session.export_strokes(), f"{stem}_strokes.png"
            elif trigger == "export-overlay":
                data, name = session.export_overlay(), f"{stem}_overlay.png"
            elif trigger == "export-tiles":
                data, name = session.export_tiles(int(tile or 0)), f"{stem}_tiles.zip"
            else:
                return no_update, no_update
        except (PaintsegError, ValueError, TypeError) as exc:
            return no_update, _error(exc if isinstance(exc, PaintsegError) else PaintsegError(
                "tile size must be a whole number of pixels"))
        return dash.dcc.send_bytes(data, name), _message(f"saved {name}", "ok")
