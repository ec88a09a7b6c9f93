"""The page: a header, a sidebar of panels, and the painting viewer."""

from __future__ import annotations

from dash import dcc, html

from ..classifiers import CLASSIFIERS
from ..features.spec import PRESETS
from .frames import frame_row
from .render import ramp_css
from .statistics import statistics_panel

PALETTE = [
    ("#e4572e", "vermilion"), ("#29a5d6", "sky"), ("#f3c623", "saffron"), ("#76b041", "leaf"),
    ("#8e6cef", "violet"), ("#ff8fab", "pink"), ("#17bebb", "teal"), ("#b56b45", "umber"),
    ("#7d8491", "slate"), ("#2e294e", "ink"), ("#ffffff", "white"), ("#111111", "black"),
]
FAMILY_LABELS = {
    "intensity": "Intensity", "gaussian": "Gaussian", "gradient": "Gradient magnitude",
    "sobel": "Sobel", "laplacian": "Laplacian of Gaussian", "dog": "Difference of Gaussians",
    "hessian": "Hessian eigenvalues", "structure": "Structure tensor", "mean": "Mean",
    "variance": "Variance", "min": "Minimum", "max": "Maximum", "median": "Median",
    "entropy": "Entropy", "gabor": "Gabor (oriented)", "lattice": "Lattice energy",
    "texture": "Texture (share of contrast)", "symmetry": "Lattice symmetry",
    "relative": "Intensity relative to surroundings",
}
CLASSIFIER_LABELS = {
    "random_forest": "Random forest", "extra_trees": "Extra trees", "xgboost": "XGBoost",
    "lightgbm": "LightGBM", "demo_tpot": "Demo pipeline (scaler, stacking, XGBoost)",
}


PRESET_HELP = ("auto: any image; it finds the crystal lattice, if there is one, and adds filters "
               "at its period. stem: atomic-resolution images where phases differ only by their "
               "lattice. ilastik / weka: those tools' own filter banks, to compare with them.")
LAYER_HELP = {
    "segmentation": "Each pixel in the colour of its class (the class list is the legend).",
    "uncertainty": "1 − the highest class probability, scaled so that brightest = all "
                   "classes equally likely: dark = certain, bright = unsure. "
                   "Paint the bright regions next.",
    "probability": "Probability of the chosen class at each pixel, 0 (dark) to 1 (bright).",
}


def family_row(family: str, label: str) -> html.Div:
    """A filter family's row of the custom bank: on/off and its own scales."""
    on = dcc.Checklist(id={"type": "family-on", "family": family}, value=[],
                       options=[{"label": label, "value": family}], className="family-on")
    if family == "intensity":
        return html.Div([on, dcc.Input(id={"type": "family-scales", "family": family}, value="",
                                       disabled=True, placeholder="no scale",
                                       className="scales-input")], className="family-row")
    return html.Div([on, dcc.Input(id={"type": "family-scales", "family": family}, value="",
                                   debounce=True, placeholder="e.g. 1, 2, 4",
                                   className="scales-input")], className="family-row")


def colour_options() -> list[dict]:
    """The class colour menu's entries: a swatch and the colour's name."""
    return [{"label": html.Span([html.Span(className="swatch", style={"background": c}), name],
                                className="colour-option"), "value": c} for c, name in PALETTE]


def panel(title: str, *children, id: str | None = None, open: bool = True) -> html.Details:
    """A collapsible sidebar panel."""
    kwargs = {"id": id} if id else {}
    return html.Details([html.Summary(title), html.Div(children, className="panel-body")],
                        open=open, className="panel", **kwargs)


def classes_panel() -> html.Details:
    """The classes: pick one to paint, rename it, recolour it, add or delete."""
    return panel(
        "Classes",
        dcc.RadioItems(id="class-select", options=[], value=1, className="class-list",
                       labelClassName="class-row", inputClassName="class-radio"),
        html.Div([
            dcc.Input(id="class-name", type="text", debounce=True, placeholder="class name",
                      className="text-input", maxLength=60),
            dcc.Dropdown(id="class-colour", options=colour_options(), clearable=False,
                         searchable=False, className="colour-dropdown"),
        ], className="row"),
        html.Div([
            html.Button("+ Add class", id="class-add", className="btn btn-ghost"),
            html.Button("Delete class", id="class-delete", className="btn btn-ghost btn-danger"),
        ], className="row"),
    )


def brush_panel() -> html.Details:
    """The brush: tool (brush, eraser, ignore, pan) and width."""
    return panel(
        "Brush",
        dcc.RadioItems(id="tool", value="brush", className="segmented", inline=True,
                       options=[{"label": "Brush (B)", "value": "brush"},
                                {"label": "Eraser (E)", "value": "eraser"},
                                {"label": "Ignore (I)", "value": "ignore"},
                                {"label": "Pan (H)", "value": "pan"}]),
        html.Label("Brush width (image pixels)", className="field-label"),
        dcc.Slider(id="brush-width", min=1, max=64, step=1, value=8,
                   marks={1: "1", 16: "16", 32: "32", 64: "64"},
                   tooltip={"placement": "bottom", "always_visible": True,
                            "template": "{value} px"}),
        html.P("Ignore (grey) marks regions to leave out, such as scale bars, text or "
               "damage: they are not trained on, not segmented and not counted.",
               className="hint"),
        html.P("Wheel: zoom · right-drag or Space+drag: pan · [ ]: width · 1-9: class · "
               "Ctrl+Z: undo · F: fit · N: next suggestion", className="hint"),
    )


def features_panel() -> html.Details:
    """Features and training: preset, families, the lattice period and its override, the
    classifier, borders on edges, Train and live mode."""
    return panel(
        "Features & classifier",
        html.P(PRESET_HELP, className="hint"),
        dcc.RadioItems(id="feature-preset", value="auto", className="segmented", inline=True,
                       options=[{"label": p, "value": p} for p in sorted(
                           PRESETS, key=lambda name: name != "auto")] + [
                           {"label": "custom", "value": "custom"}]),
        html.Div([
            html.Label("Lattice period (px)", className="field-label inline",
                       htmlFor="lattice-period"),
            dcc.Input(id="lattice-period", type="number", placeholder="auto", step="any",
                      debounce=True, className="number-input"),
        ], className="row"),
        html.Div(id="lattice-info", className="hint"),
        html.Details([
            html.Summary("Filters and scales"),
            html.P("Each filter at its own scales: σ in pixels, or the wavelength in pixels "
                   "for Gabor / lattice / texture / symmetry. Empty: not used. The auto and stem presets "
                   "add the lattice filters at the image's own period.", className="hint"),
            html.Div([family_row(family, label) for family, label in FAMILY_LABELS.items()],
                     className="family-grid"),
        ], className="sub-details"),
        html.Div(id="feature-summary", className="hint"),
        html.Label("Classifier", className="field-label"),
        dcc.Dropdown(id="classifier", value="extra_trees", clearable=False, searchable=False,
                     options=[{"label": CLASSIFIER_LABELS.get(k, k), "value": k} for k in CLASSIFIERS]),
        dcc.Checklist(id="snap-edges", value=["on"], className="switch", options=[{
            "label": html.Span("Borders on the image's edges", title=(
                "Where two classes differ in brightness, the band where the classifier is "
                "unsure between them is split along the image's steepest intensity change, "
                "not halfway between the strokes (no halos around bright objects).")),
            "value": "on"}]),
        html.Div([
            html.Button("Train (T)", id="train-button", className="btn btn-primary"),
            dcc.Checklist(id="live-mode", options=[{"label": "Live: retrain after each stroke",
                                                    "value": "live"}],
                          value=[], className="switch"),
            html.Span(id="live-busy", className="hint", role="status"),
        ], className="row train-row"),
        html.Div(id="train-status", className="status-text"),
    )


def display_panel() -> html.Details:
    """What the viewer shows: segmentation, uncertainty or a class's probability, strokes,
    suggestions, opacity."""
    return panel(
        "Display",
        dcc.RadioItems(id="layer", value="segmentation", className="segmented", inline=True,
                       options=[{"label": "Segmentation", "value": "segmentation"},
                                {"label": "Uncertainty", "value": "uncertainty"},
                                {"label": "Probability", "value": "probability"}]),
        html.Div([
            html.Label("Class", className="field-label inline"),
            dcc.Dropdown(id="probability-class", options=[], clearable=False, searchable=False,
                         className="grow"),
        ], className="row", id="probability-row"),
        html.Div([
            html.Div([html.Span("0", className="legend-end"),
                      html.Div(className="legend-ramp", style={"background": ramp_css()}),
                      html.Span("1", className="legend-end")], className="legend-bar",
                     id="legend-bar"),
            html.P(LAYER_HELP["segmentation"], id="legend-text", className="hint"),
        ], id="layer-legend", className="legend"),
        html.Label("Overlay opacity", className="field-label"),
        dcc.Slider(id="overlay-opacity", min=0, max=1, step=0.05, value=0.45,
                   marks={0: "0", 0.5: "0.5", 1: "1"}),
        dcc.Checklist(id="show-strokes", options=[
            {"label": "Show strokes", "value": "show"},
            {"label": "Show where to paint next (numbered boxes)", "value": "suggest"}],
                      value=["show", "suggest"], className="switch"),
    )


def export_panel() -> html.Details:
    """Exports (masks, probabilities, model, strokes, overlay, training tiles) and
    imports."""
    return panel(
        "Export & import",
        html.Div([
            html.Button("Mask PNG", id="export-mask-png", className="btn"),
            html.Button("Mask TIFF", id="export-mask-tif", className="btn"),
            html.Button("Probabilities", id="export-proba", className="btn"),
            html.Button("Model", id="export-model", className="btn"),
            html.Button("Strokes", id="export-strokes", className="btn"),
            html.Button("Overlay picture", id="export-overlay", className="btn"),
        ], className="button-grid"),
        html.Div([
            html.Label("Training tiles", className="field-label inline"),
            dcc.Input(id="tile-size", type="number", step="any", value=256,
                      className="num-input"),
            html.Span("px", className="hint"),
            html.Button("Export tiles (zip)", id="export-tiles", className="btn"),
        ], className="row"),
        html.Div([
            html.Div(file_input("import-model"), id="import-model-slot"),
            html.Div(file_input("import-strokes"), id="import-strokes-slot"),
        ], className="row"),
        dcc.Download(id="download"),
    )


_FILE_INPUTS = {
    "upload-image": lambda: dcc.Upload(html.Div(["Drop images here or ", html.A("browse")]),
                                       id="upload-image", multiple=True, className="upload-zone"),
    "import-model": lambda: dcc.Upload(html.Button("Import model", className="btn btn-ghost"),
                                       id="import-model"),
    "import-strokes": lambda: dcc.Upload(html.Button("Import strokes", className="btn btn-ghost"),
                                         id="import-strokes"),
}


def file_input(name: str) -> dcc.Upload:
    """A new, empty file input. The panel replaces each input by a new one once its file is
    read: the browser fires no change for the same file chosen again in the same input, and
    Dash none for the same contents, so a retry or a second copy would get no answer."""
    return _FILE_INPUTS[name]()


def build_layout(optimise_panel=None, upload_limit_mb: float = 1024) -> html.Div:
    """The whole page: header, sidebar panels, toolbar and viewer, and the stores the
    callbacks share."""
    sidebar = [html.P(id="next-step", className="next-step", role="status"),
               classes_panel(), brush_panel(), features_panel(), display_panel()]
    if optimise_panel is not None:
        sidebar.append(optimise_panel)
    sidebar.append(statistics_panel())
    sidebar.append(export_panel())
    return html.Div([
        dcc.Location(id="url"),
        dcc.Store(id="session-id", storage_type="session"),
        dcc.Store(id="rev", data=0),
        dcc.Store(id="image-info"),
        dcc.Store(id="overlay"),
        dcc.Store(id="class-colours", data={}),
        dcc.Store(id="stroke-queue"),
        dcc.Store(id="stroke-ack"),
        dcc.Store(id="js-sink"),
        dcc.Store(id="upload-checked"),
        dcc.Store(id="upload-limit", data=upload_limit_mb),
        html.Header([
            html.Div([html.Span("paint", className="logo-a"), html.Span("seg", className="logo-b")],
                     className="logo"),
            dcc.Dropdown(id="image-select", options=[], clearable=False, searchable=False,
                         className="image-select", placeholder="no image"),
            html.Span(id="image-meta", className="image-meta"),
            frame_row(),
            html.Div(file_input("upload-image"), id="upload-image-slot", className="upload-slot"),
            html.Span(id="upload-busy", className="image-meta"),
        ], className="header"),
        html.Div([
            html.Aside(sidebar, className="sidebar"),
            html.Main([
                html.Div([
                    html.Button("Undo", id="undo-button", className="btn btn-tool",
                                title="Undo the last stroke (Ctrl+Z)"),
                    html.Button("Clear strokes", id="clear-button", className="btn btn-tool"),
                    html.Button("Fit", id="fit-button", className="btn btn-tool",
                                title="Fit the image to the view (F)"),
                    html.Button("Next suggestion", id="next-suggestion", className="btn btn-tool",
                                title="Zoom to the next region worth painting (N)"),
                    html.Span(id="suggestion-info", className="readout", role="status"),
                    html.Div(id="message", className="message", role="status"),
                    html.Span(id="viewer-readout", className="readout"),
                ], className="toolbar"),
                html.Div(id="viewer", className="viewer"),
            ], className="main"),
        ], className="body"),
    ], className="app")
