"""Camera steadiness from the picture itself, measured on the frame borders.

The tested person stands in the middle of the picture; the left and right fifths of the frame are
mostly background. A hand-held phone that moves shifts that background. For each frame we take a
small grey thumbnail, measure the translation of each border strip against the first frame by
phase correlation (OpenCV ``phaseCorrelate``, a fraction of a millisecond per frame) and keep the
smaller of the two shifts: a moving camera shifts both strips, while a person walking through one
strip moves only that one. The summary uses the 75th percentile over frames, so brief moments when
both strips are crossed by people do not count as camera motion.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["CameraMotionTracker"]


class CameraMotionTracker:
    """Accumulates the background shift of each frame relative to the first one.

    Parameters
    ----------
    thumb_width_px
        Width of the thumbnail the shift is measured on; shifts are reported in displayed-frame
        pixels.
    border_fraction
        Fraction of the width taken on each side as the background strip.
    """

    def __init__(self, *, thumb_width_px: int = 160, border_fraction: float = 0.2) -> None:
        self.thumb_width_px = thumb_width_px
        self.border_fraction = border_fraction
        self._ref: tuple[np.ndarray, ...] | None = None
        self._windows: list[np.ndarray] = []
        self._factor = 1.0
        self.shifts_px: list[tuple[float, float]] = []

    def _strips(self, image_rgb: np.ndarray, scale: float) -> tuple[np.ndarray, ...]:
        h, w = image_rgb.shape[:2]
        tw = self.thumb_width_px
        th = max(8, int(round(h * tw / w)))
        small = cv2.resize(image_rgb, (tw, th), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        b = max(4, int(tw * self.border_fraction))
        # thumbnail px -> displayed-frame px
        self._factor = (w / tw) / (scale or 1.0)
        return np.ascontiguousarray(grey[:, :b]), np.ascontiguousarray(grey[:, -b:])

    def update(self, image_rgb: np.ndarray, scale: float = 1.0) -> None:
        strips = self._strips(image_rgb, scale)
        if self._ref is None:
            self._ref = strips
            self._windows = [cv2.createHanningWindow((st.shape[1], st.shape[0]), cv2.CV_32F) for st in strips]
            self.shifts_px.append((0.0, 0.0))
            return
        shifts = []
        for ref, cur, win in zip(self._ref, strips, self._windows, strict=True):
            # phaseCorrelate may window its inputs in place: give it copies, keep the reference intact
            (dx, dy), _ = cv2.phaseCorrelate(ref.copy(), cur, win)
            shifts.append((float(dx) * self._factor, float(dy) * self._factor))
        self.shifts_px.append(min(shifts, key=lambda d: d[0] ** 2 + d[1] ** 2))

    def summary(self, image_size: tuple[int, int]) -> dict[str, float]:
        """75th-percentile and largest shift, in px and in % of the image diagonal."""
        if not self.shifts_px:
            return {}
        s = np.asarray(self.shifts_px)
        mag = np.hypot(s[:, 0], s[:, 1])
        diag = float(np.hypot(*image_size))
        return {
            "shift_p75_px": float(np.percentile(mag, 75)),
            "shift_max_px": float(mag.max()),
            "shift_p75_pct_diagonal": float(np.percentile(mag, 75) / diag * 100),
        }
