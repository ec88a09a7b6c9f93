"""The painting panel's callbacks: strokes arriving from the viewer (retraining in live
mode, the part on screen first), Train, and the edits that change what is painted or
shown: undo, clear, add or delete a class, another image."""

from __future__ import annotations

import dash
from dash import Input, Output, State, ctx, no_update

from ..errors import PaintsegError
from .messages import error as _error
from .messages import message as _message
from .state import Session, SessionStore
from .views import class_options, picture_urls, train_status, view_of


def retrain_live(session: Session):
    """Live mode after undo / clear: train on what is left, or say why the overlay went."""
    try:
        session.train(live=True)
    except PaintsegError as exc:
        session.drop_model()
        return _message(f"{exc} (live mode)", "hint")
    return ""


def register_painting(app: dash.Dash, store: SessionStore) -> None:
    """Register the callbacks of painting, training and editing."""
    session_or_raise = store.require

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
                view = view_of(session, queue.get("view"))
                if view is not None:
                    session.start_preview(session.current, *view)
                overlay = picture_urls(session, probability_class, view)[1]
                status = train_status(summary)
                message = ""
            except PaintsegError as exc:
                message = _message(str(exc), "hint")
        return last, class_options(session), overlay, message, status

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
        return rev + 1, "", train_status(summary)

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
                return rev + 1, retrain_live(session)
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
