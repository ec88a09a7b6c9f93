"""The measurement report: one self-contained HTML file that opens offline.

A reader of the numbers needs to see what was measured and how it could be measured
again: the overlay pictures, the fractions table with its intervals, a bar chart of
the fractions per image, the region-size histograms per class, the fraction against
frame (or time) for a series, and the settings (model, features, classifier, strokes,
cleaning, package versions). Plotly's JavaScript is inlined once, pictures are data
URIs, so the file needs no network and can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import io as _io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .analysis import Measurement, table_rows
from .colours import default_colour, hex_to_rgb
from .errors import PaintsegError
from .files import atomic_write_text

MAX_PICTURES = 12
PICTURE_SIDE = 1024  # pictures larger than this are shrunk in the report

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;
color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border-bottom:1px solid #e4e6ee;padding:.25rem .6rem;text-align:right}
th{background:#f4f5f9}td.text,th.text{text-align:left}
.pictures{display:flex;flex-wrap:wrap;gap:1rem}.pictures figure{margin:0;max-width:48%}
.pictures img{max-width:100%;image-rendering:pixelated;border:1px solid #ccd}
.note{color:#5a6275;font-size:.85rem}.swatch{display:inline-block;width:.8em;height:.8em;
margin-right:.3em;border-radius:2px;vertical-align:-.05em}
"""


def versions() -> dict[str, str]:
    """Versions of the packages the numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("paintseg", "numpy", "scipy", "scikit-image", "scikit-learn", "plotly"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def model_settings(segmenter, source: str | None = None) -> dict:
    """What a fitted ``Segmenter`` was: features, classifier, strokes, lattice period."""
    summary = getattr(segmenter, "training_summary_", {}) or {}
    spec = getattr(segmenter, "spec_", None)
    classifier = segmenter.classifier if isinstance(segmenter.classifier, str) else (
        type(segmenter.classifier).__name__)
    out = {"model": source or "in memory",
           "features": f"{spec.name} ({spec.n_features} per pixel)" if spec is not None else "",
           "classifier": classifier,
           "classes": ", ".join(map(str, getattr(segmenter, "class_names_", []))),
           "training images": summary.get("images"),
           "strokes (connected)": summary.get("stroke_groups"),
           "painted pixels": sum((summary.get("labelled_pixels") or {}).values()) or None}
    period = getattr(spec, "period", None)
    if period:
        out["lattice period (px)"] = round(float(period), 3)
    if summary.get("estimated_miou") is not None:
        out["estimated mean IoU"] = round(float(summary["estimated_miou"]), 3)
    return {k: v for k, v in out.items() if v not in (None, "")}


def overlay_png(image: np.ndarray | None, labels: np.ndarray, colours: Mapping[int, str],
                opacity: float = 0.45, max_side: int | None = PICTURE_SIDE) -> bytes:
    """A PNG of the segmentation over the image (the mask alone without an image),
    shrunk to at most ``max_side`` pixels a side (``None``: full size). The report's
    pictures and the app's overlay export."""
    from PIL import Image as PILImage

    from .io import to_uint8

    labels = np.asarray(labels)
    lut = np.zeros((int(labels.max(initial=0)) + 1, 3), np.float32)
    for k in range(1, len(lut)):
        lut[k] = hex_to_rgb(colours.get(k) or default_colour(k))
    if image is None:
        rgb = lut[labels]
    else:
        grey = to_uint8(np.asarray(image)).astype(np.float32)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        painted = labels > 0
        rgb[painted] = (1 - opacity) * rgb[painted] + opacity * lut[labels[painted]]
    picture = PILImage.fromarray(rgb.astype(np.uint8))
    if max_side is not None and max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), PILImage.Resampling.NEAREST)
    buffer = _io.BytesIO()
    # a report's small pictures are packed tight; a full-size export is made fast
    picture.save(buffer, format="PNG", **({"optimize": True} if max_side else {"compress_level": 1}))
    return buffer.getvalue()


# -- figures -----------------------------------------------------------------------------
def _colour(colours: Mapping[int, str], k: int) -> str:
    return colours.get(k) or default_colour(k)


def _frame_axis(measurements: Sequence[Measurement]) -> tuple[list, str]:
    if all(m.time is not None for m in measurements):
        unit = measurements[0].time_unit
        return [m.time for m in measurements], f"time ({unit})" if unit else "time"
    return [m.frame + 1 for m in measurements], "frame"


def fraction_bars(measurements: Sequence[Measurement], colours: Mapping[int, str] = {}):
    """Bar chart: the area fraction of each class per image, with its interval."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = [f"{m.frame + 1}. {m.name}" for m in measurements]
    for i, c in enumerate(measurements[0].classes):
        values = [m.classes[i].fraction * 100 for m in measurements]
        bar = dict(x=names, y=values, name=c.name, marker_color=_colour(colours, c.id))
        if all(m.classes[i].low is not None for m in measurements):
            bar["error_y"] = dict(type="data", symmetric=False,
                                  array=[(m.classes[i].high - m.classes[i].fraction) * 100
                                         for m in measurements],
                                  arrayminus=[(m.classes[i].fraction - m.classes[i].low) * 100
                                              for m in measurements])
        fig.add_bar(**bar)
    fig.update_layout(barmode="group", yaxis_title="area fraction (%)", height=380,
                      title="Area fraction per image (bars: arg-max; whiskers: plausible range)",
                      margin=dict(t=50, b=40, l=60, r=20), legend_title_text="class")
    return fig


def size_histograms(measurements: Sequence[Measurement], colours: Mapping[int, str] = {}) -> list:
    """One histogram per class of the equivalent diameters of its regions (all frames)."""
    import plotly.graph_objects as go

    unit = measurements[0].calibration.length_unit
    figures = []
    for i, c in enumerate(measurements[0].classes):
        d = np.concatenate([m.classes[i].regions["equivalent_diameter"] for m in measurements])
        if d.size == 0:
            continue
        fig = go.Figure(go.Histogram(x=d, marker_color=_colour(colours, c.id), name=c.name,
                                     nbinsx=min(40, max(5, d.size // 3))))
        fig.update_layout(title=f"{c.name}: {d.size} regions, median diameter "
                                f"{np.median(d):.3g} {unit}",
                          xaxis_title=f"equivalent diameter ({unit})", yaxis_title="regions",
                          height=300, margin=dict(t=50, b=40, l=60, r=20), bargap=0.05)
        figures.append(fig)
    return figures


def fraction_series(measurements: Sequence[Measurement], colours: Mapping[int, str] = {}):
    """Fraction against frame (or time when the file carries it), with the interval as a band."""
    import plotly.graph_objects as go

    x, title = _frame_axis(measurements)
    fig = go.Figure()
    for i, c in enumerate(measurements[0].classes):
        colour = _colour(colours, c.id)
        if all(m.classes[i].low is not None for m in measurements):
            r, g, b = hex_to_rgb(colour)
            fig.add_scatter(x=list(x) + list(x)[::-1],
                            y=[m.classes[i].high * 100 for m in measurements]
                            + [m.classes[i].low * 100 for m in measurements][::-1],
                            fill="toself", fillcolor=f"rgba({r},{g},{b},0.2)", line=dict(width=0),
                            hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=x, y=[m.classes[i].fraction * 100 for m in measurements],
                        mode="lines+markers", name=c.name, line=dict(color=colour))
    fig.update_layout(title="Area fraction across the series", xaxis_title=title,
                      yaxis_title="area fraction (%)", height=360,
                      margin=dict(t=50, b=40, l=60, r=20), legend_title_text="class")
    return fig


# -- the page ----------------------------------------------------------------------------
def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.2f}"


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value:,.4g}" if isinstance(value, float) else f"{value:,}"


def _fractions_table(measurements: Sequence[Measurement], colours: Mapping[int, str]) -> str:
    rows = table_rows(measurements)
    with_interval = any(r["fraction_low"] is not None for r in rows)
    unit, length = rows[0]["area_unit"], rows[0]["length_unit"]
    head = ["image", "class", "fraction %"]
    if with_interval:
        head += ["plausible range %", "by expected probability %"]
    head += [f"area ({unit})", "regions", f"mean diameter ({length})", "mean aspect ratio"]
    out = ["<table><tr>" + "".join(
        f'<th class="{"text" if h in ("image", "class") else ""}">{html.escape(h)}</th>'
        for h in head) + "</tr>"]
    for r in rows:
        swatch = f'<span class="swatch" style="background:{_colour(colours, r["class_id"])}"></span>'
        cells = [f'<td class="text">{html.escape(str(r["image"]))}</td>',
                 f'<td class="text">{swatch}{html.escape(r["class"])}</td>',
                 f"<td>{_pct(r['fraction'])}</td>"]
        if with_interval:
            cells += [f"<td>{_pct(r['fraction_low'])} – {_pct(r['fraction_high'])}</td>",
                      f"<td>{_pct(r['fraction_expected'])}</td>"]
        cells += [f"<td>{_num(r['area'])}</td>", f"<td>{r['regions']:,}</td>",
                  f"<td>{_num(r['mean_diameter'])}</td>", f"<td>{_num(r['mean_aspect_ratio'])}</td>"]
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</table>"


def _settings_table(settings: Mapping) -> str:
    rows = []
    for key, value in settings.items():
        if isinstance(value, Mapping):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            value = ", ".join(map(str, value)) or "none"
        rows.append(f'<tr><th class="text">{html.escape(str(key))}</th>'
                    f'<td class="text">{html.escape(str(value))}</td></tr>')
    return "<table>" + "\n".join(rows) + "</table>"


def build_report(measurements: Sequence[Measurement], *, images: Sequence | None = None,
                 colours: Mapping[int, str] | None = None, settings: Mapping | None = None,
                 title: str = "paintseg measurements") -> str:
    """The report as one HTML page (see the module docstring for what it holds).

    ``images`` (aligned with ``measurements``, entries may be None) are drawn under
    their segmentation; ``settings`` (e.g. ``model_settings``) are listed beside the
    cleaning options and package versions.
    """
    import plotly.io as pio

    if not measurements:
        raise PaintsegError("nothing was measured: no report to write")
    colours = dict(colours or {})
    first = measurements[0]
    figures = [fraction_bars(measurements, colours)]
    if len(measurements) > 1:
        figures.append(fraction_series(measurements, colours))
    figures += size_histograms(measurements, colours)
    config = {"displaylogo": False, "responsive": True}
    plots = [pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), config=config,
                         default_height=f"{fig.layout.height}px")
             for i, fig in enumerate(figures)]
    pictures = []
    for i, m in enumerate(measurements[:MAX_PICTURES]):
        image = images[i] if images is not None and i < len(images) else None
        data = base64.b64encode(overlay_png(image, m.mask, colours)).decode()
        pictures.append(f'<figure><img alt="segmentation of {html.escape(m.name)}" '
                        f'src="data:image/png;base64,{data}"><figcaption class="note">'
                        f"{m.frame + 1}. {html.escape(m.name)}</figcaption></figure>")
    more = len(measurements) - MAX_PICTURES
    cal = first.calibration
    measured = {
        "images": len(measurements),
        "pixel size": f"{cal.pixel_size:.6g} {cal.unit}" if cal.known else
        "unknown (areas in pixels)",
        "regions removed below (px)": first.settings["min_region_px"] or "none",
        "holes filled in": first.settings["fill_holes"],
        "connectivity": {1: "edge neighbours (4)", 2: "edge and corner neighbours (8)"}[
            first.settings["connectivity"]],
        "plausible range thresholds": " and ".join(f"{t:g}" for t in first.settings["thresholds"]),
    }
    all_settings = {**(settings or {}), **measured, "versions": versions(),
                    "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    interval_note = (
        "<p class='note'>Fraction: share of the counted pixels whose most probable class it is. "
        "Plausible range: from the pixels the model is sure of (probability ≥ {hi:g}) to those "
        "it finds plausible (≥ {lo:g}); by expected probability: the mean probability of the "
        "class. A wide range means the number depends on uncertain pixels.</p>").format(
        lo=first.settings["thresholds"][0], hi=first.settings["thresholds"][1])
    body = [f"<h1>{html.escape(title)}</h1>",
            "<h2>Segmentation</h2>", '<div class="pictures">' + "".join(pictures) + "</div>",
            f"<p class='note'>{more} more images are measured in the tables.</p>" if more > 0 else "",
            "<h2>Area fractions</h2>", _fractions_table(measurements, colours),
            interval_note if first.classes[0].low is not None else "",
            "<h2>Plots</h2>", *plots,
            "<p class='note'>Regions are connected pieces of one class; those cut by the image "
            "border are smaller than the real grains.</p>",
            "<h2>Settings</h2>", _settings_table(all_settings)]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(path, measurements: Sequence[Measurement], **kwargs) -> Path:
    """Write ``build_report`` to an .html file, atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise PaintsegError(f"the report is written as .html, not '{path.suffix or '(none)'}'")
    atomic_write_text(path, build_report(measurements, **kwargs))
    return path
