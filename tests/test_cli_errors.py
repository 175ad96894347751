"""Every bad input a real user produces: one clear line naming the file, a documented exit code,
no traceback, and nothing half-written."""

from __future__ import annotations

import numpy as np
import pytest

from medius.errors import EXIT_CODES
from medius.io import Keypoints2D
from medius.io.keypoint_files import MultiPersonKeypoints, write_openpose_json, write_trc
from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats
from tests import _videos
from tests.conftest import five_and_five, load_result, run_medius, write_synthetic


def assert_clean(out, tmp_path):
    """No output folder and no temporary leftovers beside it."""
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def one_line_error(proc, code, *needles):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("medius:")]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_exit_codes_are_documented():
    assert EXIT_CODES == {
        "success": 0, "internal": 1, "usage": 2, "InputNotFoundError": 3, "InvalidInputError": 4,
        "NotJudgeableError": 5, "OutputError": 6,
    }


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path):
    out = tmp_path / "out"
    p = one_line_error(run_medius("analyze", tmp_path / "nope.mp4", "--out", out), 3, "nope.mp4")
    assert "no such file" in p
    assert_clean(out, tmp_path)


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: _write(d / "notes.mp4", b"hello, not a video\n"), "not a readable video"),
        (lambda d: _write(d / "empty.mov", b""), "empty"),
        (lambda d: _videos.write_audio_only(d / "sound.m4a"), "audio-only"),
        (
            lambda d: _videos.truncate_copy(_videos.write_test_video(d / "full.mp4", n_frames=30), d / "cut.mp4", 0.6),
            "cut.mp4",
        ),
        (
            lambda d: _videos.write_without_keyframes(_videos.write_test_video(d / "k.mp4", n_frames=30, gop=10),
                                                      d / "nokey.mp4"),
            "nokey.mp4",
        ),
        (lambda d: _videos.write_large_frame_video(d / "huge.mp4"), "8200"),
    ],
    ids=["text-as-mp4", "empty-file", "audio-only", "truncated", "zero-frames", "huge-resolution"],
)
def test_invalid_videos(tmp_path, make, needle):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    path = make(src_dir)
    out = tmp_path / "out"
    line = one_line_error(run_medius("analyze", path, "--out", out), 4, str(path.name))
    assert needle.lower() in line.lower()
    assert_clean(out, tmp_path)


def test_video_with_no_person_is_not_judgeable(tmp_path):
    video = _videos.write_test_video(tmp_path / "empty-room.mp4", width=320, height=240, n_frames=20)
    out = tmp_path / "out"
    proc = run_medius("analyze", video, "--out", out, "--no-video")
    assert proc.returncode == 5 and "Traceback" not in proc.stderr
    assert "cannot be judged" in proc.stderr and "Person detected" in proc.stderr
    res = load_result(out)
    assert res["status"] == "not_judgeable" and res["reps"] == [] and res["summary"] == {}
    assert (out / "report.html").is_file()


def _write_kp(kp: Keypoints2D, folder, fmt="trc"):
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "trc":
        return write_trc(kp, folder / "clip_px.trc")
    write_openpose_json(kp, folder)
    return folder


def _not_judgeable(tmp_path, path, *args):
    out = tmp_path / "out"
    proc = run_medius("analyze", path, "--out", out, "--no-video", *args)
    assert proc.returncode == 5, proc.stderr
    assert "Traceback" not in proc.stderr
    res = load_result(out)
    assert res["status"] == "not_judgeable" and res["reps"] == [] and res["interpretation"] == []
    html = (out / "report.html").read_text()
    assert "Film from the front" in html
    return res


def test_side_view_is_refused(tmp_path):
    kp, _ = make_single_leg_squats(five_and_five())
    pos = kp.position.copy()
    cx = kp.image_size[0] / 2
    pos[..., 0] = cx + (pos[..., 0] - cx) * 0.1  # shoulders and hips collapse onto one line: side-on
    path = _write_kp(kp.replace(position=pos), tmp_path / "in")
    res = _not_judgeable(tmp_path, path)
    assert res["quality"]["view"] == "side"
    assert any("side view" in r for r in res["quality"]["reasons"])


def test_several_people_of_similar_size_are_refused(tmp_path):
    kp, _ = make_single_leg_squats(five_and_five())
    a = kp.position.copy()
    a[..., 0] -= 250
    b = kp.position.copy()
    b[..., 0] += 250
    multi = MultiPersonKeypoints(
        position=np.stack([a, b], axis=1),
        confidence=np.stack([kp.confidence, kp.confidence], axis=1),
        time_s=kp.time_s,
        image_size=kp.image_size,
    )
    folder = tmp_path / "in"
    folder.mkdir()
    write_openpose_json(multi, folder)
    res = _not_judgeable(tmp_path, folder, "--fps", "30", "--image-size", "1080x1920")
    assert res["quality"]["person_selection"]["ambiguous"] is True
    assert any("several people" in r for r in res["quality"]["reasons"])


def test_a_smaller_bystander_is_tolerated_with_a_warning(tmp_path):
    kp, _ = make_single_leg_squats(five_and_five())
    small = kp.position * 0.4 + np.array([40.0, 200.0])  # someone far away at the edge of the picture
    multi = MultiPersonKeypoints(
        position=np.stack([kp.position, small], axis=1),
        confidence=np.stack([kp.confidence, kp.confidence], axis=1),
        time_s=kp.time_s,
        image_size=kp.image_size,
    )
    folder = tmp_path / "in"
    folder.mkdir()
    write_openpose_json(multi, folder)
    out = tmp_path / "out"
    proc = run_medius("analyze", folder, "--fps", "30", "--image-size", "1080x1920", "--out", out, "--no-video")
    assert proc.returncode == 0, proc.stderr
    res = load_result(out)
    assert res["quality"]["people_in_view"] == 2
    assert any("other people are in view" in w for w in res["quality"]["warnings"])
    assert res["summary"]["right"]["fppa_deg"]["mean"] == pytest.approx(16.0, abs=0.5)


def test_standing_still_has_too_few_reps(tmp_path):
    spec = SyntheticSquats(reps=(SyntheticRep("left", fppa_deg=0, pelvic_drop_deg=0, trunk_lean_deg=0,
                                              depth_pct=0.5),))
    path, _ = write_synthetic(spec, tmp_path / "in", "trc")
    res = _not_judgeable(tmp_path, path)
    assert any("Too few reps" in r for r in res["quality"]["reasons"])


def test_very_low_frame_rate_is_refused(tmp_path):
    path, _ = write_synthetic(five_and_five(fps=8.0), tmp_path / "in", "trc")
    res = _not_judgeable(tmp_path, path)
    assert any("Frame rate" in r for r in res["quality"]["reasons"])


def test_body_out_of_frame_is_refused(tmp_path):
    kp, _ = make_single_leg_squats(five_and_five())
    pos = kp.position.copy()
    pos[..., 1] += 400  # feet below the bottom edge of a 1080x1920 picture
    path = _write_kp(kp.replace(position=pos), tmp_path / "in", "openpose")
    res = _not_judgeable(tmp_path, path, "--fps", "30", "--image-size", "1080x1920")
    assert any("Whole body in frame" in r for r in res["quality"]["reasons"])


def test_openpose_without_fps(tmp_path):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in")
    out = tmp_path / "out"
    one_line_error(run_medius("analyze", path, "--out", out), 4, "--fps")
    assert_clean(out, tmp_path)


def test_existing_output_needs_force(tmp_path):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in", "trc")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    one_line_error(run_medius("analyze", path, "--out", out, "--no-video"), 6, "--force")
    assert (out / "keep.txt").read_text() == "precious"
    proc = run_medius("analyze", path, "--out", out, "--no-video", "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "keep.txt").exists() and (out / "result.json").is_file()


def test_unwritable_output_folder(tmp_path):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in", "trc")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    one_line_error(run_medius("analyze", path, "--out", blocker / "out", "--no-video"), 6, "cannot write")


def test_bad_option_values_are_usage_errors(tmp_path):
    path, _ = write_synthetic(five_and_five(), tmp_path / "in", "trc")
    proc = run_medius("analyze", path, "--task", "lunge")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = run_medius("analyze", path, "--image-size", "big")
    assert proc.returncode == 2 and "WIDTHxHEIGHT" in proc.stderr


def test_folder_of_videos_gives_one_table(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    _videos.write_test_video(folder / "a.mp4", width=320, height=240, n_frames=15)
    (folder / "b.mp4").write_text("not a video")
    out = tmp_path / "out"
    proc = run_medius("analyze", folder, "--out", out, "--no-video")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 5  # the worst item: a.mp4 has no person (5), b.mp4 is invalid (4)
    assert "a.mp4" in proc.stdout and "b.mp4" in proc.stdout
    assert (out / "a" / "report.html").is_file() and not (out / "b").exists()


def test_help_is_complete():
    proc = run_medius("--help")
    assert proc.returncode == 0 and "analyze" in proc.stdout and "Exit codes" in proc.stdout
    proc = run_medius("analyze", "--help")
    for opt in ("--task", "--side", "--out", "--force", "--json", "--no-blur", "--fps", "--image-size", "--sex"):
        assert opt in proc.stdout
