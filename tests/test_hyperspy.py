"""HyperSpy signals are taken wherever an image is, with their calibration: by duck
typing in ``io.as_image`` (a stand-in object), and with real ``Signal2D`` objects,
in memory and loaded from files, when HyperSpy is installed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import paintseg
from paintseg import Segmenter
from paintseg.errors import PaintsegError
from paintseg.io import as_image, read_image


@pytest.fixture(scope="module")
def demo(demo256):
    return demo256  # a lattice at 0.05 nm per pixel, and strokes of its three phases


def fake_signal(data, scale=0.5, units="Å", n_signal_axes=2, title="haadf"):
    """The attributes paintseg reads from a HyperSpy signal, and nothing else."""
    axes = [SimpleNamespace(scale=scale, units=units) for _ in range(n_signal_axes)]
    return SimpleNamespace(data=data, axes_manager=SimpleNamespace(signal_axes=axes),
                           metadata=SimpleNamespace(General=SimpleNamespace(title=title)))


@pytest.mark.parametrize(("units", "nm"), [("Å", 0.05), ("nm", 0.5), ("µm", 500.0), ("μm", 500.0),
                                           ("um", 500.0), ("pm", 0.0005)])
def test_duck_typed_signal_keeps_its_calibration(units, nm):
    image = as_image(fake_signal(np.ones((20, 30), np.uint16), 0.5, units))
    assert image.shape == (20, 30) and image.dtype == np.float32
    assert image.pixel_size == 0.5 and image.unit == units and image.name == "haadf"
    assert image.pixel_size_nm == pytest.approx(nm)


@pytest.mark.parametrize("units", ["<undefined>", "", "1/nm", "px"])
def test_uncalibrated_signal_has_no_pixel_size(units):
    image = as_image(fake_signal(np.ones((20, 30)), 0.5, units))
    assert image.pixel_size is None and image.pixel_size_nm is None


def test_stack_gives_its_first_frame_and_a_spectrum_is_refused():
    stack = np.stack([np.full((8, 9), k, np.float32) for k in range(3)])
    assert (as_image(fake_signal(stack)) == 0).all()
    with pytest.raises(PaintsegError, match="1 signal axes.*Signal2D"):
        as_image(fake_signal(np.ones((5, 100)), n_signal_axes=1))


def test_segmenter_fits_and_predicts_a_duck_typed_signal(demo):
    image, strokes = demo
    signal = fake_signal(np.asarray(image.image), image.pixel_size_nm, "nm")
    seg = Segmenter().fit(signal, strokes)
    assert seg.period_nm_ is not None  # the calibration reached the model
    calibrated = as_image(signal)
    np.testing.assert_array_equal(seg.predict(signal), seg.predict(calibrated))


# -- real HyperSpy -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hs():
    return pytest.importorskip("hyperspy.api")


def calibrated(hs, data, scale=0.25, units="Å", title="MoS2 HAADF"):
    signal = hs.signals.Signal2D(np.asarray(data))
    for axis in signal.axes_manager.signal_axes:
        axis.scale, axis.units = scale, units
    signal.metadata.General.title = title
    return signal


def test_real_signal2d(hs, demo):
    image, strokes = demo
    signal = calibrated(hs, image.image, scale=10 * image.pixel_size_nm, units="Å")
    as_img = as_image(signal)
    assert as_img.name == "MoS2 HAADF" and as_img.pixel_size_nm == pytest.approx(image.pixel_size_nm)
    seg = Segmenter().fit([signal], [strokes])
    assert seg.period_nm_ == pytest.approx(Segmenter().fit(
        [as_img], [strokes]).period_nm_)
    mask = seg.predict(signal)
    assert mask.shape == image.truth.shape and (mask == image.truth).mean() > 0.8
    assert seg.predict_proba(signal.as_lazy()).shape == (*image.truth.shape, 3)


def test_uncalibrated_real_signal(hs):
    image = as_image(hs.signals.Signal2D(np.random.default_rng(0).random((3, 16, 24))))
    assert image.shape == (16, 24) and image.pixel_size is None and image.name == "signal"
    with pytest.raises(PaintsegError, match="1 signal axes"):
        as_image(hs.signals.Signal1D(np.ones((4, 50))))


@pytest.mark.parametrize("suffix", [".hspy", ".tif"])
def test_signal_loaded_from_a_file(hs, demo, tmp_path, suffix):
    """hs.load's signal and paintseg's own reader of the same file agree."""
    image, strokes = demo
    path = tmp_path / f"haadf{suffix}"
    calibrated(hs, image.image, scale=0.5, units="nm").save(path)
    signal = hs.load(path)
    from_signal = as_image(signal)
    assert from_signal.pixel_size_nm == pytest.approx(0.5)
    np.testing.assert_allclose(from_signal, image.image)
    if suffix == ".tif":
        assert read_image(path).pixel_size_nm == pytest.approx(0.5)
    seg = Segmenter().fit([signal], [strokes])
    np.testing.assert_array_equal(seg.predict(signal), seg.predict(from_signal))


def test_notebook_takes_a_signal(hs, demo):
    image, _ = demo
    nb = paintseg.notebook(calibrated(hs, image.image, scale=2.0, units="pm"), show=False)
    try:
        assert nb.images[0].pixel_size_nm == pytest.approx(0.002)
        assert nb.images[0].name == "MoS2 HAADF" and nb.strokes[0].shape == image.image.shape
    finally:
        nb.stop()
