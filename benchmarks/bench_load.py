"""The app under load: ten sessions painting, training and switching layers at once.

Starts the real server (``paintseg app`` in a subprocess, sessions saved to a
temporary folder) and drives N sessions over loopback HTTP as the page does: Dash
callbacks POSTed to ``/_dash-update-component``, built from the app's own callback
map (``/_dash-dependencies``), and the layer pictures fetched from ``/pictures``.

Each session opens the demo image, adds a third class, paints its strokes (every
session paints the three phases of the demo with its own permutation of the class
ids, at its own places), trains, then switches layers and paints more while the
others still train; finally it exports its mask. Reported: requests and failures,
latency percentiles of painting (one stroke sent and acknowledged) and of layer
switching (the page's callback plus the new layer's picture) while other sessions
train, training time concurrent vs the same trainings one after another, and whether
every session's mask is its own (agreement with its permutation of the truth).

    nice -n 10 python benchmarks/bench_load.py --sessions 10 --port 8072
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from PIL import Image as PILImage
from serving import running_app

TRUTH = Path(__file__).resolve().parents[1] / "src" / "paintseg" / "data" / "demo_truth.png"
PERMUTATIONS = list(itertools.permutations((1, 2, 3)))
LAYERS = ("uncertainty", "probability", "segmentation")


# -- measurements ---------------------------------------------------------------------------------
@dataclass
class Recorder:
    """Every request's kind, latency and outcome, and how many trainings are in flight."""

    samples: list[tuple[str, float, bool, bool]] = field(default_factory=list)  # kind, s, ok, busy
    failures: list[str] = field(default_factory=list)
    training: dict[int, bool] = field(default_factory=dict)  # session index -> in flight
    lock: threading.Lock = field(default_factory=threading.Lock)

    def others_training(self, me: int) -> bool:
        with self.lock:
            return any(v for k, v in self.training.items() if k != me)

    def add(self, kind: str, seconds: float, ok: bool, busy: bool, detail: str = "") -> None:
        with self.lock:
            self.samples.append((kind, seconds, ok, busy))
            if not ok:
                self.failures.append(f"{kind}: {detail}"[:300])

    def latencies(self, kind: str, busy_only: bool = True) -> np.ndarray:
        return np.array([s for k, s, ok, busy in self.samples
                         if k == kind and ok and (busy or not busy_only)])


def percentiles_ms(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {"n": len(values), "p50": 1e3 * float(np.percentile(values, 50)),
            "p95": 1e3 * float(np.percentile(values, 95)), "max": 1e3 * float(values.max())}


# -- a page of the app, over HTTP ----------------------------------------------------------------------
class DashClient:
    """Calls the app's server-side callbacks as the page's renderer does."""

    def __init__(self, url: str, recorder: Recorder, index: int) -> None:
        self.url, self.recorder, self.index = url, recorder, index
        self.http = requests.Session()
        self.cached: set[str] = set()  # picture URLs already fetched
        self.callbacks = [c for c in self.http.get(url + "/_dash-dependencies", timeout=30).json()
                          if not c.get("clientside_function")]

    def _find(self, trigger: str, first_output: str | None) -> dict:
        for cb in self.callbacks:
            inputs = [f"{i['id']}.{i['property']}" for i in cb["inputs"]]
            if trigger in inputs and (first_output is None or
                                      cb["output"].strip(".").startswith(first_output)):
                return cb
        raise KeyError(f"no callback on {trigger}")

    def call(self, kind: str, trigger: str, values: dict, first_output: str | None = None) -> dict:
        """POST the callback that ``trigger`` fires, with ``values`` ('id.prop' -> value)
        for its inputs and states; returns its outputs ('id.prop' -> value)."""
        cb = self._find(trigger, first_output)

        def items(deps):
            return [{"id": d["id"], "property": d["property"],
                     "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

        outputs = []
        for out in cb["output"].strip(".").split("..."):
            ident, prop = out.rsplit(".", 1)
            outputs.append({"id": ident, "property": prop.split("@")[0]})
        body = {"output": cb["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": items(cb["inputs"]), "state": items(cb["state"]),
                "changedPropIds": [trigger]}
        reply = self._request(kind, "post", "/_dash-update-component", json=body)
        if reply is None or reply.status_code == 204:
            return {}
        return {f"{ident}.{prop}": value for ident, props in reply.json().get("response", {}).items()
                for prop, value in props.items()}

    def get(self, kind: str, path: str) -> bytes | None:
        reply = self._request(kind, "get", path)
        return None if reply is None else reply.content

    def _request(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        busy = self.recorder.others_training(self.index)
        t0 = time.perf_counter()
        try:
            reply = self.http.request(method, self.url + path, timeout=600, **kwargs)
            ok, detail = reply.status_code in (200, 204), f"HTTP {reply.status_code}"
        except requests.RequestException as exc:
            reply, ok, detail = None, False, str(exc)
        self.recorder.add(kind, time.perf_counter() - t0, ok, busy or
                          self.recorder.others_training(self.index), detail)
        return reply if ok else None


# -- strokes ---------------------------------------------------------------------------------------------
def stroke_plan(truth: np.ndarray, index: int, per_class: int) -> list[tuple[int, np.ndarray]]:
    """(class id, points) of one session: short horizontal strokes well inside each phase
    of the truth, at places of its own; phase p is painted as class perm[p - 1]."""
    from scipy import ndimage

    rng = np.random.default_rng(100 + index)
    perm = PERMUTATIONS[index % len(PERMUTATIONS)]
    plan = []
    for phase in (1, 2, 3):
        inside = ndimage.binary_erosion(truth == phase, np.ones((15, 41), bool))
        ys, xs = np.nonzero(inside)
        for k in rng.choice(len(ys), per_class, replace=False):
            y, x = float(ys[k]), float(xs[k])
            plan.append((perm[phase - 1], np.array([[x - 16, y], [x, y + 2], [x + 16, y]])))
    return plan


def session_truth(truth: np.ndarray, index: int) -> np.ndarray:
    """The mask session ``index`` should get: its own class ids on the demo's phases."""
    perm = np.array((0, *PERMUTATIONS[index % len(PERMUTATIONS)]))
    return perm[truth]


@dataclass
class PageRun:
    """One session's journey and what it measured."""

    index: int
    client: DashClient
    truth: np.ndarray
    per_class: int = 2
    sid: str | None = None
    image_key: str | None = None
    overlay: dict | None = None
    rev: int = 1
    seq: int = 0
    train_seconds: list[float] = field(default_factory=list)
    mask: np.ndarray | None = None

    def open(self) -> None:
        out = self.client.call("open", "url.pathname", {"url.pathname": "/"})
        self.sid = out["session-id.data"]
        self.rev = out.get("rev.data", 1)
        self.render()
        out = self.client.call("add class", "class-add.n_clicks",
                               {"class-add.n_clicks": 1, "session-id.data": self.sid, "rev.data": self.rev})
        self.rev = out.get("rev.data", self.rev)

    def render(self) -> None:
        out = self.client.call("render", "rev.data", {"rev.data": self.rev, "session-id.data": self.sid},
                               first_output="image-select.options")
        self.image_key = out["image-info.data"]["key"]
        self.overlay = out.get("overlay.data")

    def paint(self, label: int, points: np.ndarray) -> None:
        """One stroke, sent as the page sends it and checked to be acknowledged."""
        self.seq += 1
        stroke = {"seq": self.seq, "image": self.image_key, "points": points.round(2).tolist(),
                  "width": 8, "label": label, "colour": "#ffffff"}
        out = self.client.call("paint", "stroke-queue.data", {
            "stroke-queue.data": {"client": f"page{self.index}", "strokes": [stroke]},
            "session-id.data": self.sid, "live-mode.value": []})
        if out.get("stroke-ack.data") != self.seq:
            self.client.recorder.add("paint ack", 0.0, False, False, f"ack {out.get('stroke-ack.data')}")

    def train(self, kind: str = "train") -> None:
        recorder = self.client.recorder
        with recorder.lock:
            recorder.training[self.index] = True
        t0 = time.perf_counter()
        try:
            out = self.client.call(kind, "train-button.n_clicks", {
                "train-button.n_clicks": len(self.train_seconds) + 1, "session-id.data": self.sid,
                "rev.data": self.rev})
        finally:
            with recorder.lock:
                recorder.training[self.index] = False
        self.train_seconds.append(time.perf_counter() - t0)
        self.rev = out.get("rev.data", self.rev)
        self.render()

    def switch_layer(self, layer: str) -> None:
        """What the page asks of the server when the Display layer changes."""
        t0 = time.perf_counter()
        self.client.call("layer callback", "layer.value", {
            "layer.value": layer, "rev.data": self.rev, "session-id.data": self.sid})
        key = {"uncertainty": "uncertainty_url", "probability": "probability_url"}.get(
            layer, "segmentation_url")
        url = (self.overlay or {}).get(key)
        if url and url not in self.client.cached:  # a browser keeps each picture (max-age)
            self.client.get("layer picture", url)
            self.client.cached.add(url)
        self.client.recorder.add("layer switch", time.perf_counter() - t0, True,
                                 self.client.recorder.others_training(self.index))

    def export_mask(self) -> None:
        out = self.client.call("export", "export-mask-png.n_clicks", {
            "export-mask-png.n_clicks": 1, "session-id.data": self.sid})
        download = out.get("download.data") or {}
        if download.get("content"):
            self.mask = np.array(PILImage.open(io.BytesIO(base64.b64decode(download["content"]))))

    def agreement(self, index: int | None = None) -> float:
        """Fraction of pixels where the mask equals session ``index``'s truth (default: own)."""
        if self.mask is None:
            return 0.0
        return float((self.mask == session_truth(self.truth, self.index if index is None else index)).mean())

    def run(self, start_delay: float, min_switches: int) -> None:
        """Open, paint, train; then switch layers and paint while others train; export."""
        time.sleep(start_delay)
        self.open()
        plan = stroke_plan(self.truth, self.index, self.per_class + 2)
        first, extra = plan[:0], []
        for phase in range(3):  # per_class strokes per phase now, two more later
            block = plan[phase * (self.per_class + 2):(phase + 1) * (self.per_class + 2)]
            first += block[:self.per_class]
            extra += block[self.per_class:]
        for label, points in first:
            self.paint(label, points)
        self.train()
        switches = 0
        while switches < min_switches or self.client.recorder.others_training(self.index):
            self.switch_layer(LAYERS[switches % len(LAYERS)])
            if extra:
                self.paint(*extra.pop())
            switches += 1
            time.sleep(0.05)
        self.export_mask()


# -- the scenario ------------------------------------------------------------------------------------------
def run_load(url: str, sessions: int, per_class: int = 2, stagger: float = 0.3,
             min_switches: int = 6, serial: bool = True) -> dict:
    """Drive ``sessions`` pages at once, then (``serial``) train each again alone."""
    truth = np.array(PILImage.open(TRUTH))
    recorder = Recorder()
    pages = [PageRun(i, DashClient(url, recorder, i), truth, per_class) for i in range(sessions)]
    errors: list[str] = []

    def run(page: PageRun) -> None:
        try:
            page.run(stagger * page.index, min_switches)
        except Exception as exc:  # a failed journey is a failure to report, not a crash
            errors.append(f"session {page.index}: {exc!r}"[:300])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(p,)) for p in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    concurrent = [p.train_seconds[0] for p in pages if p.train_seconds]
    serial_times = []
    if serial:
        for p in pages:
            p.train("train (serial)")
            serial_times.append(p.train_seconds[-1])
    return {"pages": pages, "recorder": recorder, "errors": errors, "wall": wall,
            "concurrent": concurrent, "serial": serial_times}


def report(result: dict) -> str:
    """A Markdown table of the run."""
    rec: Recorder = result["recorder"]
    pages = result["pages"]
    lines = [f"sessions: {len(pages)}; requests: {len(rec.samples)}; failures: "
             f"{len(rec.failures) + len(result['errors'])}; wall time: {result['wall']:.1f} s", "",
             "| measure (while other sessions train) | n | p50 ms | p95 ms | max ms |",
             "|---|---|---|---|---|"]
    for kind in ("paint", "layer switch", "layer callback", "layer picture"):
        q = percentiles_ms(rec.latencies(kind))
        lines.append(f"| {kind} | {q['n']} | {q['p50']:.0f} | {q['p95']:.0f} | {q['max']:.0f} |")
    q = percentiles_ms(rec.latencies("paint", busy_only=False))
    lines.append(f"| paint (all, for reference) | {q['n']} | {q['p50']:.0f} | {q['p95']:.0f} | "
                 f"{q['max']:.0f} |")
    conc, ser = result["concurrent"], result["serial"]
    lines += ["", "| training | s |", "|---|---|"]
    if conc:
        lines.append(f"| concurrent: longest of {len(conc)} | {max(conc):.1f} |")
        lines.append(f"| concurrent: median | {float(np.median(conc)):.1f} |")
    if ser:
        lines.append(f"| one after another: all {len(ser)} | {sum(ser):.1f} |")
        lines.append(f"| one after another: median one | {float(np.median(ser)):.1f} |")
    own = [p.agreement() for p in pages]
    other = [max(p.agreement(j) for j in range(len(PERMUTATIONS)) if PERMUTATIONS[j] != PERMUTATIONS[
        p.index % len(PERMUTATIONS)]) for p in pages]
    lines += ["", f"own result: agreement with its own class layout min {min(own):.3f}, "
              f"with any other layout max {max(other):.3f}"]
    for failure in (rec.failures + result["errors"])[:10]:
        lines.append(f"failure: {failure}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--port", type=int, default=8072)
    parser.add_argument("--strokes", type=int, default=2, help="strokes per class before training")
    parser.add_argument("--url", help="an app already running (else one is started)")
    args = parser.parse_args()
    if args.url:
        print(report(run_load(args.url.rstrip("/"), args.sessions, args.strokes)))
        return
    with running_app("--processes", "2", port=args.port) as url:
        print(report(run_load(url, args.sessions, args.strokes)))


if __name__ == "__main__":
    main()
