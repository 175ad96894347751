"""Camera steadiness from the frame borders: known shifts come back; a person crossing one border
strip is not camera motion."""

from __future__ import annotations

import cv2
import numpy as np

from medius.io._motion import CameraMotionTracker


def textured(h=360, w=640, seed=0):
    """A smooth random background (blurred noise), like foliage and walls at thumbnail scale."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 60, (h, w)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 6)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255
    return np.repeat(smooth.astype(np.uint8)[..., None], 3, axis=2)


def shifted(img, dx, dy):
    return np.roll(np.roll(img, dy, axis=0), dx, axis=1)


def test_static_camera():
    img = textured()
    tr = CameraMotionTracker()
    for _ in range(20):
        tr.update(img)
    summary = tr.summary((640, 360))
    assert summary["shift_p75_px"] < 0.5 and summary["shift_max_px"] < 3.0


def test_panning_camera_is_measured_in_displayed_pixels():
    wide = textured(w=800)
    tr = CameraMotionTracker()
    for k in range(20):
        # the camera pans left: the scene moves right by 1 image px a frame
        tr.update(np.ascontiguousarray(wide[:, 100 - k : 740 - k]), scale=0.5)  # image = half the displayed size
    s = np.asarray(tr.shifts_px)
    # thumbnail-scale phase correlation: accurate to a few displayed pixels, enough for a steadiness check
    np.testing.assert_allclose(s[:, 0], 2 * np.arange(20), atol=8.0)
    assert tr.summary((1280, 720))["shift_p75_px"] > 20


def test_person_crossing_one_strip_is_not_camera_motion():
    img = textured()
    tr = CameraMotionTracker()
    for k in range(20):
        frame = img.copy()
        x = 10 + 5 * k
        frame[100:300, x : x + 60] = 255  # a bright figure walking through the left strip
        tr.update(frame)
    assert tr.summary((640, 360))["shift_p75_pct_diagonal"] < 0.5
