"""The frame slider: moving through the frames of a stack (a movie, a tilt series).

Each frame of a stack is an image of the session with its own strokes and overlay;
training uses every painted frame. The slider shows when the image on screen is a
frame of a stack and selects another frame of the same stack.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html, no_update

from ..errors import PaintsegError


def frame_row() -> html.Div:
    """The slider, hidden until a stack's frame is shown."""
    return html.Div([
        html.Span("Frame", className="field-label"),
        html.Div(dcc.Slider(id="frame-slider", min=1, max=2, step=1, value=1, marks=None,
                            tooltip={"placement": "bottom", "always_visible": True}),
                 className="frame-slider"),
    ], id="frame-row", className="frame-row", style={"display": "none"})


def register_frames(app: dash.Dash, store) -> None:
    """Register the frame slider's callbacks: shown for a stack, moving between its
    frames."""
    @app.callback(
        Output("frame-row", "style"), Output("frame-slider", "max"),
        Output("frame-slider", "value"),
        Input("rev", "data"), State("session-id", "data"),
        prevent_initial_call=True,
    )
    def show_frames(_, session_id):
        session = store.get(session_id)
        if session is None or not session.images:
            return {"display": "none"}, no_update, no_update
        stack = session.stack_of()
        if not stack:
            return {"display": "none"}, no_update, no_update
        return {"display": "flex"}, len(stack), stack.index(session.current) + 1

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Input("frame-slider", "value"), State("session-id", "data"), State("rev", "data"),
        prevent_initial_call=True,
    )
    def choose_frame(value, session_id, rev):
        session = store.get(session_id)
        if session is None or not session.images or value is None:
            return no_update
        try:
            stack = session.stack_of()
            if not stack or not 1 <= int(value) <= len(stack):
                return no_update
            index = stack[int(value) - 1]
            if index == session.current:
                return no_update
            session.select(index)
        except PaintsegError:
            return no_update
        return (rev or 0) + 1
