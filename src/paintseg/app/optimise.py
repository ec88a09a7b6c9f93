"""The Optimise panel: a TPOT search (paintseg.automl) running in the background.

The search runs in a thread of the server, on its own Dask workers; the page polls
its progress once a second and stays usable meanwhile. "Use this model" puts the
winner behind the overlay, like a trained or imported model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from dash import Input, Output, State, dcc, html, no_update

from ..automl import AutoMLSearch, SearchResult
from ..errors import PaintsegError
from .messages import error as _error
from .messages import message as _message


@dataclass
class Optimisation:
    """One search of a session and what came of it."""

    search: AutoMLSearch
    thread: threading.Thread | None = None
    result: SearchResult | None = None
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return self.thread is not None and not self.done.is_set()


def start_optimisation(session, minutes: float, max_pixels: int, seed: int = 0) -> Optimisation:
    """Start a search over the session's strokes in a background thread."""
    current = session.optimisation
    if current is not None and current.running:
        raise PaintsegError("a search is already running")
    images, masks, names, colours = session.training_set()
    search = AutoMLSearch(session.features, minutes=minutes, seed=seed,
                          max_pixels_per_class=max_pixels)
    job = Optimisation(search=search)

    def work() -> None:
        try:
            job.result = search.run(images, masks, class_names=names, class_colours=colours)
        except PaintsegError as exc:
            job.error = str(exc)
        except Exception as exc:  # shown in the page, never a dead panel
            job.error = f"the search failed: {exc}"
        finally:
            job.done.set()

    job.thread = threading.Thread(target=work, daemon=True, name=f"automl-{session.id[:8]}")
    session.optimisation = job
    job.thread.start()
    return job


def optimise_panel() -> html.Details:
    """The AutoML panel: time budget, start / stop, progress and the result."""
    return html.Details([
        html.Summary("Optimise (AutoML)"),
        html.Div([
            html.P("Tries other classifiers and filter choices for a few minutes, in the "
                   "background, testing each on strokes it did not learn from. It keeps your "
                   "current model unless another is clearly better, and says why.",
                   className="hint"),
            html.Div([
                html.Label("Budget", className="field-label inline"),
                dcc.Input(id="optimise-minutes", type="number", min=0.1, max=600, step=0.1, value=2,
                          className="num-input"),
                html.Span("min", className="hint"),
                html.Label("Pixels per class", className="field-label inline",
                           title="painted pixels of each class the search learns from"),
                dcc.Input(id="optimise-pixels", type="number", min=50, max=100000, step=50,
                          value=2000, className="num-input"),
            ], className="row"),
            html.Div([
                html.Button("Start search", id="optimise-start", className="btn btn-primary"),
                html.Button("Cancel", id="optimise-cancel", className="btn", disabled=True),
            ], className="row"),
            html.Div(html.Div(id="optimise-bar", style={"width": "0%"}), className="progress"),
            html.Div(id="optimise-status", className="hint"),
            html.Div(id="optimise-board"),
            html.Div([
                html.Button("Use this model", id="optimise-use", className="btn", disabled=True),
                html.Button("Download code", id="optimise-code", className="btn", disabled=True),
            ], className="row"),
            dcc.Interval(id="optimise-poll", interval=1000, disabled=True),
            dcc.Download(id="optimise-download"),
        ], className="panel-body"),
    ], className="panel", id="optimise-panel", open=False)


def _board(result: SearchResult) -> html.Table:
    rows = [html.Tr([html.Th("#"), html.Th("pipeline"), html.Th("held-out score"), html.Th("s")])]
    for i, r in enumerate(result.leaderboard[:8], start=1):
        rows.append(html.Tr([html.Td(i), html.Td(r["pipeline"]),
                             html.Td(f"{r['score']:.3f}"), html.Td(r["eval_seconds"])]))
    return html.Table(rows, className="leaderboard")


def _summary(result: SearchResult) -> str:
    chosen = "the default model" if result.kept_default else "the search's pipeline"
    return (f"{result.evaluations} pipelines{' (cancelled)' if result.cancelled else ''}. "
            f"Score on strokes each model did not learn from (1 = all right): search "
            f"{result.search_grouped_score:.3f}, default {result.default_grouped_score:.3f}. "
            f"Ready: {chosen}, because {result.reason}.")


def register_optimise(app, store) -> None:
    """Register the AutoML panel's callbacks: start and cancel a search, poll it, use its
    result."""
    def job_of(session_id) -> Optimisation | None:
        session = store.get(session_id)
        return session.optimisation if session is not None else None

    @app.callback(
        Output("optimise-poll", "disabled"), Output("optimise-status", "children"),
        Output("optimise-start", "disabled"), Output("optimise-cancel", "disabled"),
        Input("optimise-start", "n_clicks"), Input("optimise-cancel", "n_clicks"),
        State("optimise-minutes", "value"), State("optimise-pixels", "value"),
        State("session-id", "data"),
        prevent_initial_call=True,
    )
    def control(start, cancel, minutes, pixels, session_id):
        from dash import ctx

        session = store.get(session_id)
        if session is None:
            return no_update, _error(PaintsegError("this session has expired: reload the page")), \
                no_update, no_update
        if ctx.triggered_id == "optimise-cancel":
            job = session.optimisation
            if job is not None and job.running:
                job.search.cancel()
                return False, "Stopping: the best pipeline so far is kept…", True, True
            return no_update, no_update, no_update, no_update
        try:
            start_optimisation(session, float(minutes or 0), int(pixels or 2000))
        except (PaintsegError, ValueError) as exc:
            return True, _error(exc if isinstance(exc, PaintsegError) else PaintsegError(str(exc))), \
                False, True
        return False, "Starting Dask workers…", True, False

    @app.callback(
        Output("optimise-bar", "style"), Output("optimise-status", "children", allow_duplicate=True),
        Output("optimise-board", "children"), Output("optimise-poll", "disabled", allow_duplicate=True),
        Output("optimise-start", "disabled", allow_duplicate=True),
        Output("optimise-cancel", "disabled", allow_duplicate=True),
        Output("optimise-use", "disabled"), Output("optimise-code", "disabled"),
        Input("optimise-poll", "n_intervals"), State("session-id", "data"),
        prevent_initial_call=True,
    )
    def poll(_, session_id):
        job = job_of(session_id)
        if job is None:
            return (no_update,) * 3 + (True,) + (no_update,) * 4
        if job.running:
            p = job.search.progress()
            width = f"{min(100, 100 * p['elapsed'] / max(p['budget'], 1)):.0f}%"
            best = "-" if p["best_score"] is None else f"{p['best_score']:.3f}"
            text = ("Stopping: the best pipeline so far is kept…" if job.search.cancelled else
                    f"Generation {p['generation']} · {p['evaluations']} pipelines · "
                    f"best held-out score {best}")
            return {"width": width}, text, no_update, False, True, job.search.cancelled, True, True
        if job.error:
            return {"width": "0%"}, _message(job.error, "error"), "", True, False, True, True, True
        return ({"width": "100%"}, _summary(job.result), _board(job.result), True, False, True,
                False, False)

    @app.callback(
        Output("rev", "data", allow_duplicate=True),
        Output("message", "children", allow_duplicate=True),
        Input("optimise-use", "n_clicks"), State("session-id", "data"), State("rev", "data"),
        prevent_initial_call=True,
    )
    def use(_, session_id, rev):
        job = job_of(session_id)
        if job is None or job.result is None:
            return no_update, _message("no search result yet", "hint")
        store.get(session_id).use_model(job.result.segmenter)
        which = "the default model (kept by the search)" if job.result.kept_default else (
            "the search's pipeline")
        return rev + 1, _message(f"using {which}", "ok")

    @app.callback(
        Output("optimise-download", "data"), Input("optimise-code", "n_clicks"),
        State("session-id", "data"), prevent_initial_call=True,
    )
    def code(_, session_id):
        job = job_of(session_id)
        if job is None or job.result is None:
            return no_update
        return dict(content=job.result.export_code(), filename="paintseg_pipeline.py")
