"""The features panel: presets, the per-family filter rows, the lattice period, the
classifier; what the session computes its features with."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, ctx, no_update

from ..errors import PaintsegError
from ..features.spec import PRESETS, FeatureSpec
from .layout import FAMILY_LABELS
from .messages import error as _error
from .state import Session


def _lattice_info(session: Session) -> str:
    """What the lattice families follow: the period found in the image shown, the
    user's override, and the period of the current model."""
    if not session.images:
        return ""
    if not session.features.adaptive:
        return f"The '{session.features.name}' features use fixed scales (no lattice period)."
    image = session.entry().image
    text = "This image: " + session.entry().lattice.describe(image.pixel_size_nm) + "."
    if session.period is not None:
        text += f" Using {session.period:g} px (your value)."
    model = session.model
    if model is not None and getattr(model, "spec_", None) is not None and model.spec_.period:
        period = model.spec_for(image).period if model.period_nm_ and image.pixel_size_nm else (
            model.spec_.period)
        text += f" The model places its lattice features at {period:.1f} px here."
    elif model is not None and getattr(getattr(model, "lattice_", None), "not_used", ""):
        text += f" The model does not follow it: {model.lattice_.not_used}."
    return text


def _parse_scales(text: str | None, family: str) -> tuple[float, ...]:
    """'0.7, 1, 1.6' -> (0.7, 1.0, 1.6); a clear message for anything else."""
    parts = [p for p in (text or "").replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        return tuple(float(p) for p in parts)
    except ValueError:
        raise PaintsegError(f"{FAMILY_LABELS[family]}: '{text}' is not a list of numbers "
                            "(e.g. 1, 2, 4)") from None


def _spec_from_controls(on_values, scale_texts) -> FeatureSpec:
    """The custom filter bank from the per-family rows (in FAMILY_LABELS order)."""
    filters = {}
    for family, on, text in zip(FAMILY_LABELS, on_values, scale_texts, strict=True):
        if not on:
            continue
        if family == "intensity":
            filters[family] = ()
            continue
        scales = _parse_scales(text, family)
        if not scales:
            raise PaintsegError(f"{FAMILY_LABELS[family]}: give its scales (e.g. 1, 2, 4)")
        filters[family] = scales
    return FeatureSpec(filters=filters, name="custom")


def _controls_from_spec(spec: FeatureSpec) -> tuple[list, list]:
    """Per-family row values (on, scales text) showing ``spec`` as it is."""
    on = [[family] if family in spec.filters else [] for family in FAMILY_LABELS]
    texts = ["" if family == "intensity" else ", ".join(f"{s:g}" for s in spec.filters.get(family, ()))
             for family in FAMILY_LABELS]
    return on, texts


def register_features(app: dash.Dash, store) -> None:
    """The features panel's callbacks: lattice period, presets, filter rows, classifier,
    borders on edges."""

    @app.callback(
        Output("message", "children", allow_duplicate=True),
        Input("snap-edges", "value"), State("session-id", "data"),
        prevent_initial_call=True,
    )
    def snap_edges(value, session_id):
        session = store.get(session_id)
        if session is not None:
            session.snap_to_edges = "on" in (value or [])
        return no_update

    @app.callback(
        Output("lattice-info", "children"),
        Output("message", "children", allow_duplicate=True),
        Input("lattice-period", "value"), Input("rev", "data"), Input("feature-summary", "children"),
        State("session-id", "data"),
        prevent_initial_call=True,
    )
    def lattice_period(period, _, __, session_id):
        session = store.get(session_id)
        if session is None:
            return no_update, no_update
        if ctx.triggered_id == "lattice-period":
            try:
                session.set_period(period)
            except PaintsegError as exc:
                return _lattice_info(session), _error(exc)
            return _lattice_info(session), ""
        return _lattice_info(session), no_update  # leave other callbacks' messages alone

    @app.callback(
        Output("feature-preset", "value"),
        Output({"type": "family-on", "family": ALL}, "value"),
        Output({"type": "family-scales", "family": ALL}, "value"),
        Output("feature-summary", "children"),
        Output("message", "children", allow_duplicate=True),
        Input("feature-preset", "value"),
        Input({"type": "family-on", "family": ALL}, "value"),
        Input({"type": "family-scales", "family": ALL}, "value"),
        Input("classifier", "value"), State("session-id", "data"),
        prevent_initial_call=True,
    )
    def choose_features(preset, on_values, scale_texts, classifier, session_id):
        session = store.get(session_id)
        n = len(FAMILY_LABELS)
        if session is None:
            return no_update, [no_update] * n, [no_update] * n, no_update, no_update
        trigger = ctx.triggered_id
        try:
            if trigger == "classifier":
                session.classifier = classifier
                return no_update, [no_update] * n, [no_update] * n, no_update, no_update
            if trigger == "feature-preset" and preset in PRESETS:
                spec = PRESETS[preset]
            elif trigger == "feature-preset":
                spec = session.features
            else:
                spec = _spec_from_controls(on_values, scale_texts)
                preset = "custom"
            session.set_features(spec)
        except PaintsegError as exc:
            return "custom", [no_update] * n, [no_update] * n, no_update, _error(exc)
        on, texts = _controls_from_spec(spec)
        summary = f"{spec.n_features} features per pixel" + (
            ", plus lattice descriptors at the image's own period" if spec.adaptive else "")
        return preset, on, texts, summary, no_update  # other callbacks' messages stay
