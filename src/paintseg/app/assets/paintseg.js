/* paintseg painting viewer: image, strokes and overlay layers on one canvas.
 *
 * Painting happens locally (instant feedback); each finished stroke is queued and
 * sent to the server through a Dash store, with a sequence number the server
 * acknowledges, so no stroke is lost or applied twice. Zoom and pan change only
 * the view: strokes are always recorded in image-pixel coordinates.
 */
(function () {
  "use strict";

  const IGNORE = 255;  // the stroke label of regions to leave out (annotations.IGNORE)
  const IGNORE_COLOUR = "#9a9a9a";
  const PREVIEW_PAUSE_MS = 400;  // from a live preview to asking for the full overlay

  const S = {
    canvas: null, ctx: null, container: null,
    image: null, imageInfo: null, labels: null, labelsCtx: null,
    layers: { segmentation: null, uncertainty: null, probability: null },
    show: "segmentation", overlayOpacity: 0.45, strokeOpacity: 0.9, showStrokes: true,
    tool: "brush", width: 8, label: 1, colour: "#e4572e",
    scale: 1, ox: 0, oy: 0, fitted: false,
    painting: null, panning: null, spaceDown: false, mouse: null,
    seq: 0, pending: [], imageKey: null, frame: 0,
    previews: {}, previewUrls: null,
    suggestions: [], suggestIndex: -1, showSuggestions: true, suggestionsUrl: null,
    client: Math.random().toString(36).slice(2) + Date.now().toString(36),
  };

  function sendPending() {
    if (!window.dash_clientside || !window.dash_clientside.set_props || !S.pending.length) return;
    window.dash_clientside.set_props("stroke-queue", {
      data: { client: S.client, strokes: S.pending.slice(), view: visibleView() },
    });
  }

  function visibleView() {
    // the part of the image on screen (image pixels) and the zoom: live mode's preview
    // predicts just that, at about screen resolution
    if (!S.canvas || !S.imageInfo) return null;
    const W = S.canvas.width / devicePixelRatio, H = S.canvas.height / devicePixelRatio;
    return { box: [-S.ox / S.scale, -S.oy / S.scale, (W - S.ox) / S.scale, (H - S.oy) / S.scale],
             scale: S.scale };
  }

  function toImage(ev) {
    const r = S.canvas.getBoundingClientRect();
    const sx = ev.clientX - r.left, sy = ev.clientY - r.top;
    return { x: (sx - S.ox) / S.scale, y: (sy - S.oy) / S.scale, sx: sx, sy: sy };
  }

  function fit() {
    if (!S.imageInfo || !S.canvas) return;
    const W = S.canvas.width / devicePixelRatio, H = S.canvas.height / devicePixelRatio;
    const w = S.imageInfo.width, h = S.imageInfo.height;
    S.scale = Math.min(W / w, H / h) * 0.96;
    S.ox = (W - w * S.scale) / 2;
    S.oy = (H - h * S.scale) / 2;
    S.fitted = true;
    S.autoFit = true;  // until the person zooms or pans, a resized view fits again
    redraw();
  }

  function resize() {
    if (!S.container || !S.canvas) return;
    const r = S.container.getBoundingClientRect();
    S.canvas.width = Math.max(1, Math.round(r.width * devicePixelRatio));
    S.canvas.height = Math.max(1, Math.round(r.height * devicePixelRatio));
    S.canvas.style.width = r.width + "px";
    S.canvas.style.height = r.height + "px";
    if (!S.fitted || S.autoFit) fit(); else redraw();
  }

  function redraw() {
    if (S.frame) return;
    S.frame = requestAnimationFrame(draw);
  }

  function niceLength(target) {
    const p = Math.pow(10, Math.floor(Math.log10(target)));
    for (const m of [1, 2, 5, 10]) if (m * p >= target) return m * p;
    return 10 * p;
  }

  function formatLength(nm) {
    // as microscopists write it: 0.5 nm, 2 nm, 500 nm, 1 µm (no pm, no float noise)
    const trim = function (v) { return String(parseFloat(v.toPrecision(3))); };
    if (nm >= 1000) return trim(nm / 1000) + " \u00b5m";
    return trim(nm) + " nm";
  }

  function draw() {
    S.frame = 0;
    const ctx = S.ctx;
    if (!ctx) return;
    const dpr = devicePixelRatio;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#15171c";
    ctx.fillRect(0, 0, S.canvas.width, S.canvas.height);
    if (!S.image || !S.imageInfo) return;
    ctx.setTransform(S.scale * dpr, 0, 0, S.scale * dpr, S.ox * dpr, S.oy * dpr);
    ctx.imageSmoothingEnabled = S.scale < 2;
    ctx.drawImage(S.image, 0, 0);
    const layer = S.layers[S.show];
    const preview = S.previews[S.show];
    if (S.overlayOpacity > 0 && ((layer && layer.complete) || preview)) {
      ctx.globalAlpha = S.overlayOpacity;
      if (layer && layer.complete) {
        ctx.drawImage(layer, 0, 0, S.imageInfo.width, S.imageInfo.height);
      } else {  // the quick look at the visible part, until the full picture is in
        const b = preview.box;  // [row0, col0, row1, col1]
        ctx.drawImage(preview.img, b[1], b[0], b[3] - b[1], b[2] - b[0]);
      }
      ctx.globalAlpha = 1;
    }
    if (S.showStrokes && S.labels) {
      ctx.globalAlpha = S.strokeOpacity;
      ctx.drawImage(S.labels, 0, 0);
      ctx.globalAlpha = 1;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (S.showSuggestions) drawSuggestions(ctx);
    drawScaleBar(ctx);
    if (S.mouse && S.tool !== "pan" && !S.panning && !S.spaceDown) {
      ctx.beginPath();
      ctx.arc(S.mouse.sx, S.mouse.sy, Math.max(1, S.width * S.scale / 2), 0, 2 * Math.PI);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = S.tool === "eraser" ? "#ffffff" : (S.tool === "ignore" ? IGNORE_COLOUR : S.colour);
      ctx.stroke();
    }
    const info = document.getElementById("viewer-readout");
    if (info) {
      const pos = S.mouse ? Math.floor(S.mouse.x) + ", " + Math.floor(S.mouse.y) + " px \u00b7 " : "";
      info.textContent = pos + Math.round(S.scale * 100) + "%";
    }
  }

  function drawSuggestions(ctx) {
    // numbered boxes where painting next helps most (box: row0, col0, row1, col1)
    S.suggestions.forEach(function (s, i) {
      const b = s.box;
      const x = S.ox + b[1] * S.scale, y = S.oy + b[0] * S.scale;
      const w = (b[3] - b[1]) * S.scale, h = (b[2] - b[0]) * S.scale;
      ctx.lineWidth = i === S.suggestIndex ? 3 : 2;
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = "#ffe14d";
      ctx.strokeRect(x, y, w, h);
      ctx.setLineDash([]);
      ctx.fillStyle = "#ffe14d";
      ctx.fillRect(x, y - 18, 18, 18);
      ctx.fillStyle = "#111111";
      ctx.font = "bold 13px Inter, system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(String(i + 1), x + 9, y - 4);
    });
  }

  function setSuggestionInfo(text) {
    const el = document.getElementById("suggestion-info");
    if (el) el.textContent = text;
  }

  // The whole model's accuracy estimate: a live training leaves it to the grown forest,
  // whose estimate comes with the suggestions.
  function setAccuracy(text) {
    const el = document.getElementById("accuracy-estimate");
    if (el && text) el.textContent = text.charAt(0).toUpperCase() + text.slice(1) + ".";
  }

  function loadSuggestions(url) {
    if (!url || S.suggestionsUrl === url) return;
    S.suggestionsUrl = url;
    fetch(url).then(function (r) { return r.ok ? r.json() : { boxes: [], message: "" }; })
      .then(function (data) {
        if (S.suggestionsUrl !== url) return;
        S.suggestions = data.boxes || [];
        S.suggestIndex = -1;
        S.suggestionMessage = data.message || "";
        setAccuracy(data.accuracy);
        setSuggestionInfo(S.suggestions.length
          ? S.suggestions.length + " suggestions: N zooms to each" : S.suggestionMessage);
        redraw();
      }).catch(function () { /* the next overlay asks again */ });
  }

  function nextSuggestion() {
    if (!S.suggestions.length) {
      setSuggestionInfo(S.suggestionMessage || "train a model first: suggestions come from it");
      return;
    }
    S.suggestIndex = (S.suggestIndex + 1) % S.suggestions.length;
    const b = S.suggestions[S.suggestIndex].box;
    const W = S.canvas.width / devicePixelRatio, H = S.canvas.height / devicePixelRatio;
    const bw = Math.max(8, b[3] - b[1]), bh = Math.max(8, b[2] - b[0]);
    S.scale = Math.min(64, Math.max(0.02, Math.min(W / bw, H / bh) * 0.6));
    S.ox = W / 2 - (b[1] + b[3]) / 2 * S.scale;
    S.oy = H / 2 - (b[0] + b[2]) / 2 * S.scale;
    S.autoFit = false;
    S.fitted = true;
    setSuggestionInfo("Suggestion " + (S.suggestIndex + 1) + " of " + S.suggestions.length
      + ": paint the region's true class");
    redraw();
  }

  function drawScaleBar(ctx) {
    const px = S.imageInfo.pixel_size_nm;
    if (!px) return;
    const H = S.canvas.height / devicePixelRatio;
    const nm = niceLength(140 / S.scale * px);
    const len = nm / px * S.scale;
    const x = 18, y = H - 22;
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.fillRect(x - 8, y - 22, len + 16, 34);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(x, y, len, 5);
    ctx.font = "12px Inter, system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(formatLength(nm), x + len / 2, y - 7);
  }

  function paintSegment(a, b) {
    const c = S.labelsCtx;
    c.save();
    c.lineCap = "round";
    c.lineJoin = "round";
    c.lineWidth = S.width;
    if (S.tool === "eraser") {
      c.globalCompositeOperation = "destination-out";
      c.strokeStyle = "rgba(0,0,0,1)";
      c.fillStyle = "rgba(0,0,0,1)";
    } else {
      const colour = S.tool === "ignore" ? IGNORE_COLOUR : S.colour;
      c.strokeStyle = colour;
      c.fillStyle = colour;
    }
    c.beginPath();
    if (a.x === b.x && a.y === b.y) {
      c.arc(a.x, a.y, S.width / 2, 0, 2 * Math.PI);
      c.fill();
    } else {
      c.moveTo(a.x, a.y);
      c.lineTo(b.x, b.y);
      c.stroke();
    }
    c.restore();
  }

  function replay(stroke) {
    const saved = { tool: S.tool, width: S.width, colour: S.colour };
    S.tool = stroke.label === 0 ? "eraser" : (stroke.label === IGNORE ? "ignore" : "brush");
    S.width = stroke.width;
    S.colour = stroke.colour || S.colour;
    const pts = stroke.points;
    for (let i = 0; i < pts.length; i++) {
      const a = pts[Math.max(0, i - 1)], b = pts[i];
      paintSegment({ x: a[0], y: a[1] }, { x: b[0], y: b[1] });
    }
    Object.assign(S, saved);
  }

  function onDown(ev) {
    if (!S.imageInfo) return;
    S.canvas.setPointerCapture(ev.pointerId);
    const p = toImage(ev);
    if (ev.button === 1 || ev.button === 2 || S.spaceDown || S.tool === "pan") {
      S.panning = { sx: p.sx, sy: p.sy, ox: S.ox, oy: S.oy };
      S.canvas.style.cursor = "grabbing";
      return;
    }
    if (ev.button !== 0) return;
    S.painting = { points: [[p.x, p.y]], last: p };
    paintSegment(p, p);
    redraw();
  }

  function onMove(ev) {
    const p = toImage(ev);
    S.mouse = p;
    if (S.panning) {
      S.autoFit = false;
      S.ox = S.panning.ox + (p.sx - S.panning.sx);
      S.oy = S.panning.oy + (p.sy - S.panning.sy);
    } else if (S.painting) {
      const last = S.painting.last;
      if (Math.hypot(p.x - last.x, p.y - last.y) * S.scale >= 1.5) {
        paintSegment(last, p);
        S.painting.points.push([p.x, p.y]);
        S.painting.last = p;
      }
    }
    redraw();
  }

  function onUp(ev) {
    if (S.panning) {
      S.panning = null;
      S.canvas.style.cursor = "";
      return;
    }
    if (!S.painting) return;
    const stroke = {
      seq: ++S.seq,
      image: S.imageKey,
      points: S.painting.points.map(function (q) {
        return [Math.round(q[0] * 100) / 100, Math.round(q[1] * 100) / 100];
      }),
      width: S.width,
      label: S.tool === "eraser" ? 0 : (S.tool === "ignore" ? IGNORE : S.label),
      colour: S.colour,
    };
    S.painting = null;
    S.pending.push(stroke);
    S.lastStrokeTime = performance.now();
    sendPending();
  }

  function onWheel(ev) {
    if (!S.imageInfo) return;
    ev.preventDefault();
    const p = toImage(ev);
    const factor = Math.exp(-ev.deltaY * 0.0015);
    const scale = Math.min(64, Math.max(0.02, S.scale * factor));
    S.autoFit = false;
    S.ox = p.sx - p.x * scale;
    S.oy = p.sy - p.y * scale;
    S.scale = scale;
    redraw();
  }

  function onKey(ev, down) {
    const tag = (ev.target && ev.target.tagName) || "";
    const type = (ev.target && ev.target.type) || "";
    const typing = (tag === "INPUT" && ["radio", "checkbox", "range", "button"].indexOf(type) < 0)
      || tag === "TEXTAREA" || tag === "SELECT" || (ev.target && ev.target.isContentEditable);
    if (typing) return;
    if (ev.code === "Space") { S.spaceDown = down; ev.preventDefault(); redraw(); return; }
    if (!down) return;
    const click = function (id) { const el = document.getElementById(id); if (el) el.click(); };
    const key = (ev.key || "").toLowerCase();  // B and b alike (Caps Lock, Shift)
    if ((ev.ctrlKey || ev.metaKey) && key === "z") { ev.preventDefault(); click("undo-button"); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;  // the browser's own shortcuts
    if (key === "b") setToolRadio("brush");
    else if (key === "e") setToolRadio("eraser");
    else if (key === "i") setToolRadio("ignore");
    else if (key === "h") setToolRadio("pan");
    else if (key === "f") fit();
    else if (key === "n") click("next-suggestion");
    else if (key === "t") click("train-button");
    else if (key === "[" || key === "]") {
      // from the width on screen now, not the last one the server echoed: quick presses add up
      const w = Math.max(1, Math.min(64, Math.round(S.width * (key === "]" ? 1.25 : 0.8))));
      S.width = w === S.width ? S.width + (key === "]" ? 1 : -1) : w;
      S.width = Math.max(1, Math.min(64, S.width));
      if (window.dash_clientside && window.dash_clientside.set_props) {
        window.dash_clientside.set_props("brush-width", { value: S.width });
      }
      redraw();
    } else if (/^[1-9]$/.test(ev.key)) {
      const radios = document.querySelectorAll("#class-select input[type=radio]");
      const r = radios[parseInt(ev.key, 10) - 1];
      if (r) r.click();
    }
  }

  function setToolRadio(tool) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("tool", { value: tool });
    }
  }

  function loadImage(url, done) {
    const img = new Image();
    img.onload = function () { done(img); };
    img.onerror = function () { done(null); };
    img.src = url;
  }

  function loadLayer(name) {
    const url = (S.overlayUrls || {})[name + "_url"];
    S.layerUrls = S.layerUrls || {};
    if (!url || S.layerUrls[name] === url) return;
    S.layerUrls[name] = url;
    const preview = S.previewUrls;
    if (preview && preview[name + "_url"]) S.layers[name] = null;  // the preview shows meanwhile
    const full = function () {
      if (S.layerUrls[name] !== url) return;  // a newer overlay was asked for meanwhile
      loadImage(url, function (img) {
        if (S.layerUrls[name] !== url) return;
        S.layers[name] = img;
        if (name === "segmentation") S.overlayLoadedAt = performance.now();
        redraw();
        // suggestions read the full prediction: asked for now, not beside the preview
        loadSuggestions((S.overlayUrls || {}).suggestions_url);
      });
    };
    if (!preview || !preview[name + "_url"]) { full(); return; }
    loadImage(preview[name + "_url"], function (img) {
      if (S.layerUrls[name] !== url) return;
      if (img) S.previews[name] = { img: img, box: preview.box };
      if (name === "segmentation") S.previewLoadedAt = performance.now();
      redraw();
      // the full picture after a pause: a stroke within it makes this one obsolete
      setTimeout(full, PREVIEW_PAUSE_MS);
    });
  }

  function init() {
    const container = document.getElementById("viewer");
    if (!container || S.container === container) return !!container;
    S.container = container;
    S.canvas = document.createElement("canvas");
    S.canvas.id = "viewer-canvas";
    S.canvas.tabIndex = 0;
    container.appendChild(S.canvas);
    S.ctx = S.canvas.getContext("2d");
    S.canvas.addEventListener("pointerdown", onDown);
    S.canvas.addEventListener("pointermove", onMove);
    S.canvas.addEventListener("pointerup", onUp);
    S.canvas.addEventListener("pointercancel", onUp);
    S.canvas.addEventListener("pointerleave", function () { S.mouse = null; redraw(); });
    S.canvas.addEventListener("wheel", onWheel, { passive: false });
    S.canvas.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });
    window.addEventListener("keydown", function (ev) { onKey(ev, true); });
    window.addEventListener("keyup", function (ev) { onKey(ev, false); });
    new ResizeObserver(resize).observe(container);
    resize();
    return true;
  }

  const api = {
    formatLength: formatLength,
    state: S,
    fit: fit,
    nextSuggestion: nextSuggestion,
    setImage: function (info) {
      if (!info || !init()) return;
      const key = info.key;
      const sameImage = S.imageKey === key;
      if (!sameImage) S.previews = {};  // previews are of the image they were made for
      S.imageKey = key;
      S.imageInfo = info;
      loadImage(info.image_url, function (img) {
        S.image = img;
        if (!sameImage) { S.fitted = false; fit(); } else redraw();
      });
      api.setLabels(info.labels_url);
    },
    setLabels: function (url) {
      if (!S.imageInfo || !url) return;
      const w = S.imageInfo.width, h = S.imageInfo.height;
      if (!S.labels || S.labels.width !== w || S.labels.height !== h) {
        S.labels = document.createElement("canvas");
        S.labels.width = w;
        S.labels.height = h;
        S.labelsCtx = S.labels.getContext("2d");
      }
      loadImage(url, function (img) {
        S.labelsCtx.clearRect(0, 0, w, h);
        if (img) S.labelsCtx.drawImage(img, 0, 0);
        // strokes the server has not acknowledged yet are not in its picture
        S.pending.forEach(function (s) { if (s.image === S.imageKey) replay(s); });
        redraw();
      });
    },
    setOverlay: function (overlay) {
      // Only the layer on show is fetched; the others when they are chosen. A live
      // update names a preview of the visible part: drawn first, then the full picture.
      S.overlayUrls = overlay || {};
      S.previewUrls = (overlay && overlay.preview) || null;
      if (!overlay) {
        S.previews = {};
        S.layers = { segmentation: null, uncertainty: null, probability: null };
        S.layerUrls = {};
        S.suggestions = [];
        S.suggestionsUrl = null;
        setSuggestionInfo("");
        redraw();
        return;
      }
      loadLayer(S.show);
      // after a live update's preview, the suggestions wait for the full picture
      if (!S.previewUrls) loadSuggestions(overlay.suggestions_url);
    },
    configure: function (cfg) {
      Object.assign(S, cfg);
      loadLayer(S.show);
      redraw();
    },
    ack: function (seq) {
      if (!seq) return;
      S.pending = S.pending.filter(function (s) { return s.seq > seq; });
      if (S.pending.length) sendPending();
    },
  };
  window.paintseg = api;
})();
