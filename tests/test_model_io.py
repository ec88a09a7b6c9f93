"""Model files from untrusted hands: every bad one ends in one clear error, quickly."""

import io
import json
import resource
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paintseg import PaintsegError, Segmenter
from paintseg.model_io import segmenter_to_bytes


@pytest.fixture(scope="module")
def model_bytes(demo256):
    demo, strokes = demo256
    return segmenter_to_bytes(Segmenter().fit([demo.image], [strokes]))


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return buffer.getvalue()


def _with_meta(model_bytes, change) -> bytes:
    members = _members(model_bytes)
    meta = json.loads(members["model.json"])
    change(meta)
    members["model.json"] = json.dumps(meta).encode()
    return _zip(members)


def test_a_good_model_round_trips(model_bytes, demo256):
    seg = Segmenter.from_bytes(model_bytes)
    assert seg.predict(demo256[0].image).shape == demo256[0].image.shape


def test_a_model_saved_before_the_median_centre_predicts_as_it_was_trained(model_bytes, demo256):
    """Without 'intensity_centre' in its file, a model maps intensities as models did
    then (the middle of the 0.5-99.5 % range), whole or in tiles; one saved with the
    median centre keeps the median."""
    from paintseg.features import intensity_range
    from paintseg.tiles import predict_proba as tiled_proba

    image = demo256[0].image
    older = Segmenter.from_bytes(_with_meta(model_bytes, lambda m: m.pop("intensity_centre")))
    assert older.intensity_centre_ == "range"
    assert older.value_range_for(image) == pytest.approx(np.percentile(image, [0.5, 99.5]),
                                                         rel=1e-5)
    assert Segmenter.from_bytes(model_bytes).intensity_centre_ == "trimmed"
    as_then = older.predict_proba(image, value_range=intensity_range(image, "range"))
    np.testing.assert_allclose(older.predict_proba(image), as_then, atol=1e-6)
    np.testing.assert_allclose(tiled_proba(older, image, tile=128), as_then, atol=1e-5)
    median = Segmenter.from_bytes(_with_meta(model_bytes, lambda m: m.update(intensity_centre="median")))
    assert median.value_range_for(image) == intensity_range(image, "median")
    assert median.value_range_for(image) != intensity_range(image)


@pytest.mark.parametrize("key", ["class_names", "classes", "features", "n_features", "class_colours"])
def test_a_missing_key_is_named(model_bytes, key):
    with pytest.raises(PaintsegError, match=f"lacks '{key}'"):
        Segmenter.from_bytes(_with_meta(model_bytes, lambda m: m.pop(key)))


@pytest.mark.parametrize("key, value", [("classes", "1,2,3"), ("n_features", "63"),
                                        ("smoothing", "none"), ("class_names", ["a"]),
                                        ("features", {"filters": 3}), ("lattice", {"period_nm": "x"}),
                                        ("lattice", {"found_px": "10"}), ("lattice", {"not_used": 3}),
                                        ("format_version", "1"), ("edge_pairs", [[0, 0]]),
                                        ("edge_pairs", [[0, 9]]), ("edge_pairs", "0,1"),
                                        ("edge_sigma", "2"), ("edge_sigma", 1e9), ("edge_sigma", -1.0),
                                        ("intensity_centre", "mean"), ("intensity_centre", 3),
                                        ("classes", [2, 1, 3]), ("classes", [1, 1, 3]),
                                        ("smoothing", -1.0), ("smoothing", float("nan"))])
def test_wrong_types_are_refused_in_one_line(model_bytes, key, value):
    def change(meta):
        meta[key] = value

    with pytest.raises(PaintsegError) as info:
        Segmenter.from_bytes(_with_meta(model_bytes, change))
    assert "\n" not in str(info.value)


def test_a_zip_bomb_is_refused_before_it_is_read(model_bytes):
    """model.json inflating to 3 GB from a 3 MB file: refused in well under a second,
    without the memory (before this check: 6.5 GB and 26 s)."""
    members = _members(model_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("model.json", "w", force_zip64=True) as f:
            chunk = b" " * 2**24
            for _ in range(3 * 2**30 // len(chunk)):
                f.write(chunk)
        zf.writestr("classifier.skops", members["classifier.skops"])
    bomb = buffer.getvalue()
    assert len(bomb) < 8 * 2**20
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(PaintsegError, match="would unpack to 3072 MB"):
        Segmenter.from_bytes(bomb)
    assert time.perf_counter() - t0 < 1.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 200 * 1024


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_model_files_end_in_a_clear_error(model_bytes, data):
    """Random bytes, truncations and flipped bytes of a real model file: a model or a
    PaintsegError, never another exception."""
    blob = bytearray(model_bytes)
    kind = data.draw(st.sampled_from(["random", "truncate", "flip"]))
    if kind == "random":
        blob = bytearray(data.draw(st.binary(max_size=4096)))
    elif kind == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 20))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] = data.draw(st.integers(0, 255))
    try:
        seg = Segmenter.from_bytes(bytes(blob))
    except PaintsegError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(seg, Segmenter) and len(np.asarray(seg.classes_)) >= 2
