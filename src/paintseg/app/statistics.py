"""The Statistics panel: the measurements of ``paintseg.analysis`` for the open images.

While the panel is open it measures the segmentation of every open image after each
training (regions painted "ignore" left out): the fractions table with the plausible
range from the probabilities, the bar chart of fractions per image, the region-size
histogram and, for several images, the fraction against image number. The table
(CSV) and the report (HTML, ``paintseg.report``) download from here.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

from ..analysis import (
    Calibration,
    Measurement,
    common_calibration,
    image_calibration,
    measure,
    table_csv,
    table_rows,
)
from ..errors import PaintsegError
from .messages import error as _error
from .messages import message as _message

GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False, "responsive": True}


def statistics_panel() -> html.Details:
    """The panel's layout (closed until opened: measuring predicts every open image)."""
    graph = {"config": GRAPH_CONFIG, "style": {"height": "230px"}}
    return html.Details([
        html.Summary("Statistics"),
        html.Div([
            html.P("Area fraction, area and regions (grains, particles) of each class in the "
                   "segmentation, measured again after each training. The range shows how "
                   "much a fraction depends on pixels the model is unsure of.", className="hint"),
            html.Div([
                html.Label("Merge regions under", className="field-label inline",
                           htmlFor="statistics-min-region"),
                dcc.Input(id="statistics-min-region", type="number", min=0, step=1, value=0,
                          debounce=True, className="num-input"),
                html.Span("px", className="hint"),
            ], className="row"),
            html.Div(id="statistics-status", className="hint", role="status"),
            html.Div(id="statistics-table", className="statistics-table"),
            dcc.Graph(id="statistics-bars", **graph),
            dcc.Graph(id="statistics-sizes", **graph),
            html.Div(dcc.Graph(id="statistics-series", **graph), id="statistics-series-box",
                     style={"display": "none"}),
            html.Div([
                html.Button("Table (CSV)", id="statistics-csv", className="btn"),
                html.Button("Report (HTML)", id="statistics-report", className="btn"),
            ], className="row"),
            dcc.Download(id="statistics-download"),
            dcc.Store(id="statistics-open", data=False),
        ], className="panel-body"),
    ], className="panel", id="statistics-panel", open=False)


def session_measurements(session, min_region: int = 0) -> tuple[list[Measurement], list]:
    """Every open image's segmentation measured (its "ignore" regions left out), with the
    images; areas in one unit (pixels when only some images have a pixel size)."""
    with session.lock:
        model = session.model
        if model is None or not session.images:
            raise PaintsegError("train a model (or import one) to measure its segmentation")
        entries = list(session.images)
        classes = model.classes_.tolist()
        names = [session.class_name(k) for k in classes]
    cals = [image_calibration(e.image) for e in entries]
    try:
        cals = common_calibration(cals, [e.name for e in entries])
    except PaintsegError:
        cals = [Calibration()] * len(entries)
    measurements = []
    for i, entry in enumerate(entries):
        result = session.result(i)
        if result is None:
            raise PaintsegError("train a model (or import one) to measure its segmentation")
        measurements.append(measure(result.labels, result.proba, classes=classes, class_names=names,
                                    calibration=cals[i], valid=session.shown(i), name=entry.name,
                                    frame=i, min_region=min_region))
    return measurements, [e.image for e in entries]


def _table(measurements: list[Measurement], colours: dict) -> html.Table:
    rows = table_rows(measurements)
    unit = rows[0]["area_unit"]
    head = html.Tr([html.Th("class"), html.Th("%"), html.Th("range %"), html.Th(f"area {unit}"),
                    html.Th("regions"), html.Th(f"⌀ {rows[0]['length_unit']}")])
    body = []
    for r in rows:
        body.append(html.Tr([
            html.Td([html.Span(className="swatch", style={"background": colours.get(r["class_id"])}),
                     r["class"]]),
            html.Td(f"{100 * r['fraction']:.1f}"),
            html.Td(f"{100 * r['fraction_low']:.1f}–{100 * r['fraction_high']:.1f}",
                    title="from the pixels the model is sure of to those it finds plausible"),
            html.Td(f"{r['area']:,.4g}"), html.Td(f"{r['regions']:,}"),
            html.Td("" if r["mean_diameter"] is None else f"{r['mean_diameter']:.3g}",
                    title="mean equivalent diameter of the regions"),
        ], className="statistics-row"))
    return html.Table([head, *body], className="leaderboard")


def _compact(fig, title: str):
    fig.update_layout(title=dict(text=title, font=dict(size=12)), height=230,
                      margin=dict(t=30, b=30, l=40, r=10), showlegend=False,  # colours as in the table
                      font=dict(size=10))
    return fig


def _figures(measurements: list[Measurement], colours: dict) -> tuple:
    import plotly.graph_objects as go

    from ..report import fraction_bars, fraction_series, size_histograms

    bars = _compact(fraction_bars(measurements, colours), "Area fraction (%) per image")
    sizes = go.Figure()
    for fig in size_histograms(measurements, colours):
        sizes.add_traces(fig.data)
    unit = measurements[0].calibration.length_unit
    sizes.update_layout(barmode="overlay", xaxis_title=f"equivalent diameter ({unit})")
    sizes.update_traces(opacity=0.7, bingroup=1, nbinsx=30)  # the same bins for every class
    sizes = _compact(sizes, "Region sizes")
    series = _compact(fraction_series(measurements, colours), "Area fraction (%) by image number")
    return bars, sizes, series


def _report_settings(session) -> dict:
    from ..report import model_settings

    settings = model_settings(session.model, "trained in the app")
    painted = sum(session.pixel_counts().values())
    settings["painted pixels (all strokes)"] = painted
    return settings


def register_statistics(app, store) -> None:
    """The panel's callbacks: measure while open, and the two downloads."""
    # A <details> element does not report its open state to Dash: read it after each
    # click on the panel (once the browser has toggled it).
    app.clientside_callback(
        """function(_) {
            return new Promise(function (resolve) { setTimeout(function () {
                resolve(!!document.getElementById('statistics-panel').open); }, 0); });
        }""",
        Output("statistics-open", "data"), Input("statistics-panel", "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("statistics-status", "children"), Output("statistics-table", "children"),
        Output("statistics-bars", "figure"), Output("statistics-sizes", "figure"),
        Output("statistics-series", "figure"), Output("statistics-series-box", "style"),
        Input("statistics-open", "data"), Input("train-status", "children"),
        Input("rev", "data"), Input("statistics-min-region", "value"),
        State("session-id", "data"),
        prevent_initial_call=True,
    )
    def update(is_open, _, __, min_region, session_id):
        if not is_open:
            return (no_update,) * 6
        session = store.get(session_id)
        empty = ({},) * 3 + ({"display": "none"},)
        if session is None:
            return (_error(PaintsegError("this session has expired: reload the page")), "") + empty
        try:
            measurements, _ = session_measurements(session, int(min_region or 0))
        except (PaintsegError, ValueError) as exc:
            return (_message(str(exc), "hint"), "") + empty
        colours = session.colours()
        current = min(session.current, len(measurements) - 1)
        bars, sizes, series = _figures(measurements, colours)
        many = len(measurements) > 1
        cal = measurements[0].calibration
        status = (f"{len(measurements)} image{'s' if many else ''} measured; table: "
                  f"{measurements[current].name}"
                  + ("" if cal.known else " (no pixel size: areas in pixels)"))
        return (status, _table([measurements[current]], colours), bars, sizes, series,
                {} if many else {"display": "none"})

    @app.callback(
        Output("statistics-download", "data"), Output("message", "children", allow_duplicate=True),
        Input("statistics-csv", "n_clicks"), Input("statistics-report", "n_clicks"),
        State("statistics-min-region", "value"), State("session-id", "data"),
        prevent_initial_call=True,
    )
    def download(_, __, min_region, session_id):
        from dash import ctx

        from ..report import build_report

        session = store.get(session_id)
        if session is None:
            return no_update, _error(PaintsegError("this session has expired: reload the page"))
        try:
            measurements, images = session_measurements(session, int(min_region or 0))
            if ctx.triggered_id == "statistics-csv":
                data, name = table_csv(table_rows(measurements)), "paintseg_statistics.csv"
            else:
                data = build_report(measurements, images=images, colours=session.colours(),
                                    settings=_report_settings(session))
                name = "paintseg_report.html"
        except (PaintsegError, ValueError) as exc:
            return no_update, _error(exc if isinstance(exc, PaintsegError) else PaintsegError(str(exc)))
        return dict(content=data, filename=name), _message(f"saved {name}", "ok")
