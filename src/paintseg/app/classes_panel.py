"""The class panel's callbacks: the selected class's name and colour shown in its
fields, and edits of them written to the session."""

from __future__ import annotations

import dash
from dash import Input, Output, State, ctx, no_update

from ..errors import PaintsegError
from .messages import error as _error
from .state import SessionStore


def register_classes(app: dash.Dash, store: SessionStore) -> None:
    """Register the callbacks that show and rename / recolour the selected class."""

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
