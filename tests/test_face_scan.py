"""FaceScan: the annotated video's face detection, run while the pose pass decodes the frames.

On real frames (the Sports2D sample, people with visible faces) FaceScan must blur at least what
the detector reports frame by frame, follow a new face back into the frames before it, keep
its ellipses in displayed-frame pixels, and hold only a bounded number of frames.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from medius.analysis.faces import _LOOKBACK_CYCLES, FaceDetector, FaceScan
from medius.io.samples import sample_path
from medius.io.video import iter_frames

pytestmark = pytest.mark.video

#: frames read: the woman walking past is first found at frame 70
N = 90


@pytest.fixture(scope="module")
def frames():
    out = []
    with contextlib.closing(iter_frames(sample_path(), max_side_px=960)) as decoded:  # stops its thread
        for frame in decoded:
            if frame.index >= N:
                break
            out.append(frame)
    yield out
    out.clear()


@pytest.fixture(scope="module")
def scanned(frames):
    held = []
    with FaceScan() as scan:
        for f in frames:
            scan.add(f.image, f.index, f.time_s, f.scale)
            held.append(len(scan._pending))
        del f  # hold no frame after the module (tests/test_io_video.py counts the live ones)
        cycle = scan._faces.scan_cycle_frames
    return scan.ellipses(), held, cycle


def _contains(outer: np.ndarray, centre: np.ndarray) -> bool:
    return bool(((centre[0] - outer[0]) / outer[2]) ** 2 + ((centre[1] - outer[1]) / outer[3]) ** 2 <= 1.0)


def test_every_frame_gets_at_least_the_faces_the_detector_reports_in_it(frames, scanned):
    ellipses, _, _ = scanned
    assert set(ellipses) == {f.index for f in frames}
    with FaceDetector() as faces:
        n_faces = 0
        for f in frames:
            direct, _ = faces.update(f.image, f.time_s)
            stored = [e * f.scale for e in ellipses[f.index]]  # back to the frame's pixels
            for e in direct:
                n_faces += 1
                assert any(_contains(s, e[:2]) for s in stored), (f.index, e)
    assert n_faces > N // 2  # the sample shows faces in most of these frames


def test_a_face_first_found_later_is_blurred_in_the_frames_before(frames, scanned):
    ellipses, _, _ = scanned
    with FaceDetector() as faces:
        first_seen = None
        for f in frames:
            direct, new = faces.update(f.image, f.time_s)
            if new and f.index > 0:
                first_seen = (f.index, new[0])
                break
    assert first_seen is not None, "the woman walking past is first found after frame 0"
    index, box = first_seen
    before = frames[index - 1]
    assert any(_contains(e * before.scale, box[:2]) for e in ellipses[before.index])


def test_ellipses_are_in_displayed_frame_pixels(frames):
    f = frames[0]  # the man on the roof, found in the first frame's full search
    with FaceScan() as a, FaceScan() as b:
        a.add(f.image, f.index, f.time_s, f.scale)
        b.add(f.image, f.index, f.time_s, 2 * f.scale)
    ea, eb = a.ellipses()[f.index], b.ellipses()[f.index]
    assert ea and len(ea) == len(eb)
    for x, y in zip(ea, eb, strict=True):
        np.testing.assert_allclose(x, 2 * y)


def test_frames_held_stay_within_the_lookback(scanned):
    _, held, cycle = scanned
    assert max(held) <= _LOOKBACK_CYCLES * cycle


def test_a_closed_scan_refuses_frames(frames):
    scan = FaceScan()
    scan.close()
    scan.close()  # twice is fine
    with pytest.raises(ValueError, match="closed"):
        scan.add(frames[0].image, 0, 0.0, frames[0].scale)
