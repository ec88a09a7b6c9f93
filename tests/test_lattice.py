"""The lattice period estimate, and lattice features that follow it across magnifications."""

import sys
import warnings

import numpy as np
import pytest
from conftest import REPO, mean_iou, shared
from PIL import Image as PILImage

from paintseg import PaintsegError, Segmenter
from paintseg.demo import make_stem_image, simulate_strokes
from paintseg.errors import PaintsegWarning
from paintseg.features import estimate_lattice_period
from paintseg.io import Image, read_image
from paintseg.model_io import segmenter_to_bytes

sys.path.insert(0, str(REPO / "benchmarks"))
from generators import add_columns, probe_image, square_columns  # noqa: E402

MOS2_NM = 0.316  # lattice constant; the first-order planes are a * sqrt(3) / 2 apart


def hexagonal_fringes(size, period, angle, noise, seed=0):
    """Three cosines 120 degrees apart (a hexagonal lattice) plus white noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    image = sum(np.cos(2 * np.pi / period * (xx * np.cos(t) + yy * np.sin(t)))
                for t in (angle, angle + 2 * np.pi / 3, angle + 4 * np.pi / 3))
    return (image + rng.normal(0, noise, image.shape)).astype(np.float32)


@pytest.mark.parametrize("period", [3.5, 9.0, 24.0, 60.0])
def test_period_of_a_noisy_rotated_lattice(period):
    image = hexagonal_fringes(512, period, angle=0.37, noise=3.0)
    estimate = estimate_lattice_period(image)
    assert estimate.found
    assert estimate.period == pytest.approx(period, rel=0.03)


@pytest.mark.parametrize("a_px", [6.0, 9.0, 14.0])
def test_period_of_the_stem_generator_at_several_magnifications(a_px):
    """Grains at random rotations, amorphous regions, shot noise, scan jitter: the
    fundamental (first-order planes, a*sqrt(3)/2) is found, not a higher order."""
    pixel = MOS2_NM / a_px
    demo = make_stem_image(512, seed=2, pixel_size_nm=pixel, probe_sigma_px=1.1 * 0.05 / pixel)
    estimate = estimate_lattice_period(demo.image)
    assert estimate.period == pytest.approx(a_px * np.sqrt(3) / 2, rel=0.03)


@pytest.mark.parametrize(("a_px", "seed"), [(35.0, 10), (46.0, 11)])
def test_fundamental_at_long_periods_where_a_higher_order_stands_out_more(a_px, seed):
    """At 30-40 px the first-order peak falls in few radial bins and broadens over
    grains a few unit cells wide, so the sqrt(3) order stands out more; the estimate
    still reports the first order (these images gave a / 2 before)."""
    pixel = MOS2_NM / a_px
    demo = make_stem_image(1024, seed, pixel_size_nm=pixel, n_regions=4,
                           probe_sigma_px=1.1 * 0.05 / pixel)
    estimate = estimate_lattice_period(demo.image)
    assert estimate.period == pytest.approx(a_px * np.sqrt(3) / 2, rel=0.03)
    assert estimate.periods[0] == pytest.approx(a_px / 2, rel=0.03)  # the strongest peak


def test_a_bump_at_the_grain_size_is_not_taken_for_the_fundamental():
    """At a = 58 px the spectrum also shows the grains' own size, at 111 px: the first
    order (50.9 px) stands at about sqrt(5) to it, but no other peak does, so it is no
    fundamental (it was reported as the period before a higher order than the next ones
    needed another to confirm it)."""
    a_px = 58.0
    pixel = MOS2_NM / a_px
    demo = make_stem_image(1024, 26, pixel_size_nm=pixel, n_regions=4,
                           probe_sigma_px=1.1 * 0.05 / pixel)
    estimate = estimate_lattice_period(demo.image)
    assert estimate.period == pytest.approx(a_px * np.sqrt(3) / 2, rel=0.03)
    assert any(p > 100 for p in estimate.periods)  # the bump is there, and not the period


def test_fundamental_seen_with_one_next_order_only():
    """At a low dose (3 counts per pixel) and a = 35 px only the first order and the
    sqrt(3) order, the stronger, stand out: one next order needs no other to confirm the
    fundamental it traces back to."""
    a_px = 35.0
    pixel = MOS2_NM / a_px
    demo = make_stem_image(1024, 10, pixel_size_nm=pixel, n_regions=4, dose=3.0,
                           probe_sigma_px=1.1 * 0.05 / pixel)
    estimate = estimate_lattice_period(demo.image)
    assert estimate.period == pytest.approx(a_px * np.sqrt(3) / 2, rel=0.03)
    assert estimate.periods == pytest.approx((a_px / 2,), rel=0.03)  # sqrt(3) order alone passes


def square_image(size, a, centre_weight, angle=0.3, seed=0):
    """One grain of a square lattice of constant ``a`` px, with a column of
    ``centre_weight`` at each cell's centre (a perovskite seen along [001]), under a
    probe of 0.12 a and shot noise (the robustness benchmark's generator)."""
    image = np.zeros((size, size))
    add_columns(image, *square_columns(size, a, angle, centre=centre_weight))
    return probe_image(image, a, np.random.default_rng(seed), dose=20.0, background=2.0)


@pytest.mark.parametrize(("a_px", "centre_weight"), [(12.0, 0.4), (20.0, 0.4), (30.0, 0.0)])
def test_period_of_a_square_lattice_is_its_cell_not_the_diagonal_planes(a_px, centre_weight):
    """The (11) planes, a / sqrt(2) apart, give the strongest peak when the cell has a
    centre column or at long periods; the period reported is still the cell's."""
    estimate = estimate_lattice_period(square_image(512, a_px, centre_weight))
    assert estimate.periods[0] == pytest.approx(a_px / np.sqrt(2), rel=0.03)
    assert estimate.period == pytest.approx(a_px, rel=0.04)


def test_no_lattice_in_noise_smooth_blobs_or_tiny_images():
    rng = np.random.default_rng(1)
    assert not estimate_lattice_period(rng.normal(size=(300, 400))).found
    blobs = np.zeros((512, 512), np.float32)
    for y, x in rng.uniform(20, 490, (40, 2)).astype(int):
        blobs[y - 8:y + 8, x - 8:x + 8] += 1.0
    assert not estimate_lattice_period(blobs + rng.normal(0, 0.1, blobs.shape)).found
    assert not estimate_lattice_period(np.ones((40, 40))).found
    with pytest.raises(PaintsegError, match="2-D"):
        estimate_lattice_period(np.ones((4, 64, 64)))


def test_no_lattice_in_real_em_and_sem_images():
    for path in (shared("isbi2012", "image", "3.png"), shared("metaldam", "micrograph00_img.png")):
        image = np.asarray(PILImage.open(path).convert("L"), np.float32)
        assert not estimate_lattice_period(image).found, path.name


def test_lattice_in_a_real_haadf_image():
    """Domains of two periods (4.45 px in 7 of 16 tiles, 5.3 px in 9): the whole image's
    strong first choice stands; the tiles overrule a strong one only at a next order of
    their period, and 5.3 / 4.45 is none."""
    image = read_image(shared("real-stem", "high-entropy-alloy-HAADF.tif"))
    estimate = estimate_lattice_period(image)
    assert estimate.found and estimate.period == pytest.approx(4.45, rel=0.02)


@pytest.mark.parametrize(("a_px", "seed", "regions"),
                         [(14.0, 20, 5), (25.0, 20, 5), (18.0, 21, 5), (30.0, 29, 4)])
def test_a_lattice_over_part_of_the_image_is_found_by_its_tiles(a_px, seed, regions):
    """Grains covering 35-45 % of the frame, the rest amorphous: the amorphous ring
    dilutes the lattice in the whole image's spectrum, which finds nothing at a = 14 and
    25 px, and takes the sqrt(3) order for the first at 18 px (weakly) and at 30 px
    (strongly). Tiles that the crystal fills show it, and enough of them agree on the
    first order."""
    from paintseg.features.lattice import _estimate_whole

    pixel = MOS2_NM / a_px
    demo = make_stem_image(1024, seed, pixel_size_nm=pixel, n_regions=regions,
                           probe_sigma_px=1.1 * 0.05 / pixel)
    first_order = a_px * np.sqrt(3) / 2
    whole = _estimate_whole(np.asarray(demo.image, np.float32)).period
    assert whole is None or abs(whole / first_order - 1) > 0.1  # the case the tiles are for
    assert estimate_lattice_period(demo.image).period == pytest.approx(first_order, rel=0.03)


def test_model_applies_at_another_magnification_through_the_pixel_size():
    """Trained at 0.05 nm/px, applied at 0.025 nm/px: with the period stored in nm
    the lattice features land on the same planes; in pixels they would miss."""
    train = make_stem_image(384, seed=0, pixel_size_nm=0.05)
    strokes = simulate_strokes(train.truth, grains=train.grains, seed=5)
    seg = Segmenter().fit([Image(train.image, 0.05, "nm")], [strokes])
    assert seg.period_nm_ == pytest.approx(MOS2_NM * np.sqrt(3) / 2, rel=0.03)
    test = make_stem_image(384, seed=1, pixel_size_nm=0.025, probe_sigma_px=2.2)
    assert seg.spec_for(Image(test.image, 0.025, "nm")).period == pytest.approx(
        2 * seg.spec_.period)
    physical = mean_iou(seg.predict(Image(test.image, 0.025, "nm")), test.truth)
    with pytest.warns(PaintsegWarning, match="no pixel size"):
        in_pixels = mean_iou(seg.predict(test.image), test.truth)
    assert physical > 0.7
    assert physical > in_pixels + 0.2


def test_period_override_and_bad_periods(demo256):
    demo, strokes = demo256
    seg = Segmenter(period=8.0).fit([demo.image], [strokes])
    assert seg.spec_.period == 8.0 and seg.lattice_.period == 8.0
    with pytest.raises(PaintsegError, match="outside"):
        Segmenter(period=1.0).fit([demo.image], [strokes])
    with pytest.raises(PaintsegError, match="outside"):
        Segmenter(period=200.0).fit([demo.image], [strokes])
    with pytest.raises(PaintsegError, match="no lattice families"):
        Segmenter(features="ilastik", period=8.0).fit([demo.image], [strokes])


def test_no_lattice_image_gets_the_texture_bank_and_a_pixel_size_mismatch_is_clear(demo256):
    demo, strokes = demo256
    rng = np.random.default_rng(0)
    noise = rng.normal(size=demo.image.shape).astype(np.float32)
    seg = Segmenter().fit([noise], [strokes])
    assert not seg.lattice_.found and seg.spec_.period is None
    assert "texture_8_share" in seg.spec_.channel_names()
    assert "no lattice" in seg.lattice_.describe()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no period, so nothing to warn about
        seg.predict(Image(noise, 0.1, "nm"))
    crystal = Segmenter().fit([Image(demo.image, 0.05, "nm")], [strokes])
    with pytest.raises(PaintsegError, match="outside what the image can show"):
        crystal.predict(Image(demo.image, 0.0001, "nm"))


def particle_monolayer(size=384, spacing=10.0, seed=0):
    """Dark particles (class 2, 7 px across) close-packed on a jittered hexagonal grid
    over the left part of a bright carbon film (class 1): a "lattice" of particles.
    Returns the image, the truth and the particles' centres."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    truth = np.ones((size, size), np.uint8)
    centres = []
    for row in range(int(size / (spacing * 0.866)) + 1):
        for col in range(int(size / spacing) + 1):
            cy = row * spacing * 0.866 + rng.normal(0, 0.6)
            cx = col * spacing + (spacing / 2 if row % 2 else 0) + rng.normal(0, 0.6)
            if cx < 0.65 * size:
                truth[(yy - cy) ** 2 + (xx - cx) ** 2 <= 3.5**2] = 2
                centres.append((int(round(cy)), int(round(cx))))
    image = np.where(truth == 2, 0.35, 0.7) + rng.normal(0, 0.08, truth.shape)
    return image.astype(np.float32), truth, centres


def test_a_lattice_that_is_the_packing_of_painted_particles_is_not_followed(demo256):
    image, truth, centres = particle_monolayer()
    found = estimate_lattice_period(image)
    assert found.found  # the packing's spacing shows as a lattice
    strokes = np.zeros_like(truth)
    strokes[20:360, 300:306] = 1  # the bare film, beyond the layer
    for y, x in centres[40::97]:  # dots in a few particles
        strokes[y - 1:y + 2, x - 1:x + 2] = 2
    seg = Segmenter(estimate=False).fit(image, strokes)
    assert seg.spec_.period is None and seg.lattice_.periods == found.periods
    said = seg.lattice_.describe()
    assert "not followed" in said and "spacing of painted objects" in said
    assert Segmenter.from_bytes(segmenter_to_bytes(seg)).lattice_.describe() == said
    assert not any(name.startswith(("symmetry", "lattice_1P")) for name in seg.spec_.channel_names())
    # the same particles painted with strokes across several periods keep the lattice
    across = strokes.copy()
    y, x = centres[len(centres) // 2]
    across[y - 1:y + 2, x - 20:x + 20] = 2
    assert Segmenter(estimate=False).fit(image, across).spec_.period is not None
    # phases of one brightness (the STEM demo's 2H / 1T / amorphous) keep their lattice
    demo, demo_strokes = demo256
    stem = Segmenter(estimate=False).fit(demo.image, demo_strokes)
    assert stem.spec_.period is not None and not stem.lattice_.not_used


def test_the_features_panel_says_when_the_model_does_not_follow_the_lattice():
    from paintseg.app.features_panel import _lattice_info
    from paintseg.app.state import Session

    image, truth, centres = particle_monolayer(size=256)
    session = Session()
    session.add_image(Image(image))
    uid = session.entry().uid
    session.add_stroke({"image": uid, "points": [[200, 20], [200, 240]], "width": 5, "label": 1})
    for y, x in centres[30::40]:
        session.add_stroke({"image": uid, "points": [[x, y], [x, y]], "width": 3, "label": 2})
    session.train()
    text = _lattice_info(session)
    assert "This image: lattice period" in text
    assert "The model does not follow it: it is the spacing of painted objects" in text
