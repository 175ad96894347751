"""Tests for medius.io.keypoint_files: OpenPose JSON and pixel TRC readers and writers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from medius.errors import InputNotFoundError, InvalidInputError
from medius.io._sequence import KEYPOINTS, Keypoints2D
from medius.io.keypoint_files import (
    JSON_LAYOUTS,
    MultiPersonKeypoints,
    read_keypoints,
    read_openpose_json,
    read_trc,
    write_openpose_json,
    write_trc,
)

FPS = 30.0
K = {name: i for i, name in enumerate(KEYPOINTS)}


# ------------------------------------------------------------------------------- helpers
def make_kp(n_frames: int = 12, *, seed: int = 0, fps: float = FPS) -> Keypoints2D:
    """Random but known keypoints in a 640x480 image, with a few missing points."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(5.0, 470.0, (n_frames, len(KEYPOINTS), 2))
    conf = rng.uniform(0.1, 1.0, (n_frames, len(KEYPOINTS)))
    for t, name in ((1, "left_knee"), (3, "right_toe"), (3, "nose"), (7, "left_heel")):
        if t >= n_frames:
            continue
        pos[t, K[name]] = np.nan
        conf[t, K[name]] = np.nan
    return Keypoints2D(
        position=pos,
        confidence=conf,
        time_s=np.arange(n_frames) / fps,
        image_size=(640, 480),
        source="synthetic",
    )


def body25(points: dict[int, tuple[float, float, float]]) -> list[float]:
    """75 values with the given BODY_25 indices set, the rest 0,0,0."""
    values = [0.0] * 75
    for i, (x, y, c) in points.items():
        values[3 * i : 3 * i + 3] = [x, y, c]
    return values


def write_frame(path: Path, people: list[list[float]]) -> None:
    doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": p} for p in people]}
    path.write_text(json.dumps(doc))


def trc_text(names: list[str], rows: list[list[str]], *, units: str = "px", rate: str = "30") -> str:
    """A TRC in Sports2D's layout (see test_sports2d_px_trc for the source)."""
    n = len(rows)
    lines = [
        "PathFileType\t4\t(X/Y/Z)\tclip.trc",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        "\t".join([rate, rate, str(n), str(len(names)), units, rate, "0", str(n)]),
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\t",
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(len(names))),
    ]
    lines += ["\t".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def simple_trc(tmp_path: Path, **kw: str) -> Path:
    rows = [[str(i), str(i / 30), f"{100 + i}.5", "200.25", "0.0", "110.0", "300.0", "0.0"] for i in range(3)]
    p = tmp_path / "clip.trc"
    p.write_text(trc_text(["RKnee", "LKnee"], rows, **kw))
    return p


# ------------------------------------------------------------------------ OpenPose JSON
def test_openpose_round_trip_keeps_values_and_missing_points(tmp_path: Path) -> None:
    kp = make_kp()
    files = write_openpose_json(kp, tmp_path / "json", prefix="squat")
    assert [f.name for f in files[:2]] == [
        "squat_000000000000_keypoints.json",
        "squat_000000000001_keypoints.json",
    ]

    mp = read_openpose_json(tmp_path / "json", fps=FPS)
    assert mp.source == "openpose-body25"
    assert mp.n_frames == kp.n_frames and mp.n_people_max == 1
    assert mp.image_size is None
    np.testing.assert_allclose(mp.time_s, kp.time_s, atol=1e-12)
    np.testing.assert_array_equal(mp.frame_index, np.arange(kp.n_frames))
    np.testing.assert_allclose(mp.position[:, 0], kp.position, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(mp.confidence[:, 0], kp.confidence, atol=1e-9, equal_nan=True)
    assert np.isnan(mp.position[1, 0, K["left_knee"]]).all()
    assert np.isnan(mp.confidence[3, 0, K["right_toe"]])
    assert mp.log[-1]["operation"] == "read_openpose_json" and mp.log[-1]["layout"] == "BODY_25"

    one = mp.person(0, image_size=(640, 480))
    assert isinstance(one, Keypoints2D)
    np.testing.assert_allclose(one.position, kp.position, atol=1e-6, equal_nan=True)


def test_openpose_writer_uses_openpose_layout(tmp_path: Path) -> None:
    kp = make_kp(4)
    files = write_openpose_json(kp, tmp_path)
    doc = json.loads(files[0].read_text())
    assert doc["version"] == 1.3
    person = doc["people"][0]
    assert person["person_id"] == [-1] and person["face_keypoints_2d"] == []
    v = np.asarray(person["pose_keypoints_2d"], dtype=float).reshape(25, 3)
    p = kp.position[0]
    np.testing.assert_allclose(v[1, :2], (p[K["left_shoulder"]] + p[K["right_shoulder"]]) / 2)  # Neck
    np.testing.assert_allclose(v[8, :2], (p[K["left_hip"]] + p[K["right_hip"]]) / 2)  # MidHip
    np.testing.assert_allclose(v[20], v[19])  # LSmallToe = LBigToe
    np.testing.assert_allclose(v[11, :2], p[K["right_ankle"]])  # RAnkle
    # frame 3 has no nose and no right big toe: 0,0,0 (RSmallToe copies it)
    v3 = np.asarray(json.loads(files[3].read_text())["people"][0]["pose_keypoints_2d"]).reshape(25, 3)
    assert (v3[0] == 0).all() and (v3[22] == 0).all() and (v3[23] == 0).all()


def test_frame_files_are_sorted_naturally(tmp_path: Path) -> None:
    # lexicographic order would put frame 10 before frame 9
    for n in (10, 9, 11, 8):
        write_frame(tmp_path / f"cam_{n}_keypoints.json", [body25({0: (float(n), 50.0, 0.9)})])
    mp = read_openpose_json(tmp_path, fps=10.0)
    np.testing.assert_array_equal(mp.frame_index, [8, 9, 10, 11])
    np.testing.assert_allclose(mp.time_s, [0.8, 0.9, 1.0, 1.1])
    np.testing.assert_allclose(mp.position[:, 0, K["nose"], 0], [8, 9, 10, 11])


def test_pose2sim_style_names_without_keypoints_suffix(tmp_path: Path) -> None:
    # Pose2Sim / Sports2D save_to_openpose: <name>_<frame:06d>.json
    for n in range(3):
        write_frame(tmp_path / f"clip_{n:06d}.json", [body25({10: (1.0 + n, 2.0, 0.8)})])
    mp = read_keypoints(tmp_path, fps=25.0)
    np.testing.assert_allclose(mp.position[:, 0, K["right_knee"], 0], [1, 2, 3])
    np.testing.assert_allclose(mp.time_s, [0, 0.04, 0.08])


def test_several_people_per_frame(tmp_path: Path) -> None:
    a = body25({0: (10.0, 20.0, 0.9), 10: (11.0, 21.0, 0.8)})
    b = body25({0: (300.0, 40.0, 0.7)})
    write_frame(tmp_path / "v_000000000000_keypoints.json", [a, b])
    write_frame(tmp_path / "v_000000000001_keypoints.json", [b])
    write_frame(tmp_path / "v_000000000002_keypoints.json", [])
    mp = read_openpose_json(tmp_path, fps=FPS, image_size=(640, 480))
    assert mp.n_people_max == 2
    np.testing.assert_array_equal(mp.people_per_frame(), [2, 1, 0])
    np.testing.assert_allclose(mp.position[0, 1, K["nose"]], [300, 40])
    np.testing.assert_allclose(mp.position[1, 0, K["nose"]], [300, 40])  # slots carry no identity
    assert np.isnan(mp.position[1, 1]).all() and np.isnan(mp.position[2]).all()
    second = mp.person(1)
    assert second.image_size == (640, 480)
    assert np.isnan(second.position[1:]).all()


def test_multi_person_round_trip(tmp_path: Path) -> None:
    a, b = make_kp(3, seed=1), make_kp(3, seed=2)
    pos = np.stack([a.position, b.position], axis=1)
    conf = np.stack([a.confidence, b.confidence], axis=1)
    pos[1, 0] = np.nan  # nobody in slot 0 of frame 1: slot 1 moves up on reading
    conf[1, 0] = np.nan
    mp = MultiPersonKeypoints(pos, conf, a.time_s, None, source="synthetic")
    write_openpose_json(mp, tmp_path)
    back = read_openpose_json(tmp_path, fps=FPS)
    np.testing.assert_array_equal(back.people_per_frame(), [2, 1, 2])
    np.testing.assert_allclose(back.position[[0, 2]], pos[[0, 2]], atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(back.position[1, 0], pos[1, 1], atol=1e-6, equal_nan=True)
    assert np.isnan(back.position[1, 1]).all()


def test_zero_triplets_and_nan_are_missing(tmp_path: Path) -> None:
    values = body25({0: (10.0, 20.0, 0.9), 2: (0.0, 0.0, 0.0), 3: (50.0, 60.0, 0.0)})
    values[3 * 4 : 3 * 4 + 3] = [float("nan")] * 3  # Pose2Sim writes NaN for missing points
    write_frame(tmp_path / "f_0_keypoints.json", [values])
    mp = read_openpose_json(tmp_path / "f_0_keypoints.json", fps=FPS)
    assert mp.n_frames == 1
    np.testing.assert_allclose(mp.position[0, 0, K["nose"]], [10, 20])
    for name in ("right_shoulder", "right_elbow", "right_wrist", "left_knee"):
        assert np.isnan(mp.position[0, 0, K[name]]).all(), name
        assert np.isnan(mp.confidence[0, 0, K[name]]), name


@pytest.mark.parametrize("n_kp", sorted(JSON_LAYOUTS))
def test_other_json_layouts_map_to_canonical_names(tmp_path: Path, n_kp: int) -> None:
    name, mapping = JSON_LAYOUTS[n_kp]
    values = []
    for i in range(n_kp):
        values += [100.0 + i, 200.0 + i, 0.5]
    if name == "BODY_25":  # a real BODY_25 neck / mid-hip lies between the shoulders / hips
        for k, (a, b) in ((1, (2, 5)), (8, (9, 12))):
            values[3 * k : 3 * k + 2] = [100.0 + (a + b) / 2, 200.0 + (a + b) / 2]
    write_frame(tmp_path / "x_0.json", [values])
    mp = read_openpose_json(tmp_path, fps=FPS)
    assert mp.source == "openpose-" + name.lower().replace("_", "")
    for canon, j in mapping.items():
        np.testing.assert_allclose(mp.position[0, 0, K[canon]], [100 + j, 200 + j])
    unmapped = [n for n in KEYPOINTS if n not in mapping]
    assert all(np.isnan(mp.position[0, 0, K[n]]).all() for n in unmapped)


def test_halpe26_indices_are_the_published_ones(tmp_path: Path) -> None:
    # HALPE_26 (Pose2Sim skeletons.py): 20 LBigToe, 21 RBigToe, 24 LHeel, 25 RHeel;
    # BODY_25 (OpenPose): 10 RKnee, 14 LAnkle, 19 LBigToe, 24 RHeel
    _, mapping = JSON_LAYOUTS[26]
    assert (mapping["left_toe"], mapping["right_toe"], mapping["left_heel"], mapping["right_heel"]) == (
        20,
        21,
        24,
        25,
    )
    _, body = JSON_LAYOUTS[25]
    assert (body["right_knee"], body["left_ankle"], body["left_toe"], body["right_heel"]) == (10, 14, 19, 24)


def test_from_single_wraps_one_person() -> None:
    kp = make_kp(3)
    mp = MultiPersonKeypoints.from_single(kp)
    assert mp.position.shape == (3, 1, len(KEYPOINTS), 2) and mp.image_size == (640, 480)
    back = mp.person(0)
    np.testing.assert_array_equal(back.position, kp.position)
    assert back.source == "synthetic"


# ---------------------------------------------------------------------------------- TRC
def test_trc_round_trip(tmp_path: Path) -> None:
    kp = make_kp()
    path = write_trc(kp, tmp_path / "out_px.trc")
    mp = read_trc(path, image_size=(640, 480))
    assert mp.source == "trc" and mp.n_people_max == 1 and mp.image_size == (640, 480)
    np.testing.assert_allclose(mp.position[:, 0], kp.position, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(mp.time_s, kp.time_s, atol=1e-12)
    np.testing.assert_array_equal(mp.frame_index, kp.frame_index)
    present = np.isfinite(kp.position).all(axis=-1)
    assert (mp.confidence[:, 0][present] == 1.0).all()
    assert np.isnan(mp.confidence[:, 0][~present]).all()


def test_sports2d_px_trc(tmp_path: Path) -> None:
    # Layout copied from Sports2D/process.py (davidpagnon/Sports2D), make_trc_with_trc_data:
    #   header_trc = ['PathFileType\t4\t(X/Y/Z)\t' + str(trc_path),
    #     'DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames',
    #     '\t'.join(map(str,[DataRate, CameraRate, NumFrames, NumMarkers, 'm', OrigDataRate, 0, NumFrames])),
    #     'Frame#\tTime\t' + '\t\t\t'.join(keypoint_names) + '\t\t\t',
    #     '\t\t'+'\t'.join([f'X{i+1}\tY{i+1}\tZ{i+1}' for i in range(len(keypoint_names))])]
    #   trc_data.to_csv(trc_o, sep='\t', index=True, header=None, lineterminator='\n')
    # i.e. Units 'm' even in the pixel file (Sports2D tells them apart by '_px' in the name),
    # image y (down), Z = 0, Frame# from 0, NaN written as empty cells, no blank line.
    # Markers in HALPE_26 RenderTree order, as Sports2D writes them.
    names = [
        "Hip", "RHip", "RKnee", "RAnkle", "RBigToe", "RSmallToe", "RHeel",
        "LHip", "LKnee", "LAnkle", "LBigToe", "LSmallToe", "LHeel",
        "Neck", "Head", "Nose", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    ]  # fmt: skip
    header = (
        "PathFileType\t4\t(X/Y/Z)\t/data/squat_Sports2D/squat_Sports2D_px_person00.trc\n"
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n"
        "30\t30\t3\t22\tm\t30\t0\t3\n"
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t\t\n"
        "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(22)) + "\n"
    )
    rows = []
    for t, time in enumerate(("0.0", "0.03344481605351171", "0.06688963210702341")):
        cells = [str(t), time]
        for m in range(22):
            if t == 1 and names[m] == "LKnee":
                cells += ["", "", ""]  # missing: pandas writes NaN as an empty cell
            else:
                cells += [f"{100.0 * m + t}", f"{500.0 + m + 0.5 * t}", "0.0"]
        rows.append("\t".join(cells))
    path = tmp_path / "squat_Sports2D_px_person00.trc"
    path.write_text(header + "\n".join(rows) + "\n")

    mp = read_keypoints(path)
    assert mp.n_frames == 3 and mp.n_people_max == 1
    np.testing.assert_allclose(mp.time_s, [0.0, 0.03344481605351171, 0.06688963210702341])
    m = names.index("RKnee")
    np.testing.assert_allclose(
        mp.position[:, 0, K["right_knee"]], [[100.0 * m + t, 500 + m + 0.5 * t] for t in range(3)]
    )
    m = names.index("LBigToe")
    np.testing.assert_allclose(mp.position[2, 0, K["left_toe"]], [100.0 * m + 2, 500 + m + 1.0])
    assert np.isnan(mp.position[1, 0, K["left_knee"]]).all()
    assert np.isfinite(mp.position[0, 0, K["left_knee"]]).all()
    for name in ("left_eye", "right_eye", "left_ear", "right_ear"):  # not in HALPE_26 output
        assert np.isnan(mp.position[:, 0, K[name]]).all()
    entry = mp.log[-1]
    assert entry["pixels_from"] == "file name" and entry["units"] == "m"
    assert {"Hip", "Neck", "Head", "RSmallToe", "LSmallToe"} <= set(entry["markers_ignored"])
    assert "y_negated" not in entry


def test_trc_variable_time_is_kept(tmp_path: Path) -> None:
    times = ["0.0", "0.031", "0.070", "0.101"]
    rows = [[str(i + 1), t, "10.0", "20.0", "0.0"] for i, t in enumerate(times)]
    path = tmp_path / "v.trc"
    path.write_text(trc_text(["RAnkle"], rows))
    mp = read_trc(path)
    np.testing.assert_allclose(mp.time_s, [0.0, 0.031, 0.070, 0.101])
    np.testing.assert_array_equal(mp.frame_index, [1, 2, 3, 4])


def test_trc_without_time_column_uses_datarate_then_fps(tmp_path: Path) -> None:
    lines = [
        "PathFileType\t4\t(X/Y/Z)\tnt.trc",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits",
        "{rate}\t{rate}\t3\t1\tpx",
        "Frame#\tRKnee\t\t",
        "\tX1\tY1\tZ1",
        "",
        "1\t10.0\t20.0\t0.0",
        "2\t11.0\t20.0\t0.0",
        "3\t12.0\t20.0\t0.0",
    ]
    path = tmp_path / "nt.trc"
    path.write_text("\n".join(lines).format(rate="50"))
    np.testing.assert_allclose(read_trc(path, fps=10.0).time_s, [0, 0.02, 0.04])  # DataRate wins
    path.write_text("\n".join(lines).format(rate="NaN"))
    np.testing.assert_allclose(read_trc(path, fps=10.0).time_s, [0, 0.1, 0.2])
    with pytest.raises(InvalidInputError, match=r"neither a Time column nor a DataRate; pass --fps"):
        read_trc(path)
    path.write_text("\n".join(lines).format(rate="0"))
    with pytest.raises(InvalidInputError, match=r"DataRate must be > 0"):
        read_trc(path)


def test_trc_marker_aliases_and_preference(tmp_path: Path) -> None:
    names = ["right_knee", "L_Knee", "LToe", "LBigToe", "r.hip", "RIGHTHEEL"]
    rows = [["0", "0.0"] + sum(([f"{10.0 * (i + 1)}", "5.0", "0.0"] for i in range(6)), [])]
    path = tmp_path / "a.trc"
    path.write_text(trc_text(names, rows))
    mp = read_trc(path)
    got = {
        n: mp.position[0, 0, K[n], 0]
        for n in ("right_knee", "left_knee", "left_toe", "right_hip", "right_heel")
    }
    assert got == {
        "right_knee": 10.0,
        "left_knee": 20.0,
        "left_toe": 40.0,
        "right_hip": 50.0,
        "right_heel": 60.0,
    }
    assert "LToe" in mp.log[-1]["markers_ignored"]


def test_trc_zero_point_is_missing_and_negative_y_is_flipped(tmp_path: Path) -> None:
    rows = [
        ["0", "0.0", "0.0", "0.0", "0.0", "110.0", "-300.0", "0.0"],
        ["1", "0.1", "101.0", "-200.0", "0.0", "111.0", "-301.0", "0.0"],
    ]
    path = tmp_path / "neg.trc"
    path.write_text(trc_text(["RKnee", "LKnee"], rows))
    mp = read_trc(path)
    assert np.isnan(mp.position[0, 0, K["right_knee"]]).all()
    np.testing.assert_allclose(mp.position[1, 0, K["right_knee"]], [101, 200])
    np.testing.assert_allclose(mp.position[:, 0, K["left_knee"], 1], [300, 301])
    assert mp.log[-1]["y_negated"] is True


# ------------------------------------------------------------------------------- errors
def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="no such file or folder"):
        read_openpose_json(tmp_path / "nope", fps=FPS)
    with pytest.raises(InputNotFoundError, match="nope.trc"):
        read_trc(tmp_path / "nope.trc")
    with pytest.raises(InputNotFoundError, match="nope.json"):
        read_keypoints(tmp_path / "nope.json", fps=FPS)


def test_openpose_needs_a_valid_fps(tmp_path: Path) -> None:
    write_openpose_json(make_kp(2), tmp_path)
    with pytest.raises(InvalidInputError, match=r"OpenPose JSON carries no frame rate; pass --fps"):
        read_openpose_json(tmp_path, fps=None)
    with pytest.raises(InvalidInputError, match=r"carries no frame rate"):
        read_keypoints(tmp_path)
    for bad in (0, -30.0, math.nan):
        with pytest.raises(InvalidInputError, match=r"'fps': must be a finite number > 0"):
            read_openpose_json(tmp_path, fps=bad)
    with pytest.raises(InvalidInputError, match=r"'image_size': must be \(width, height\)"):
        read_openpose_json(tmp_path, fps=FPS, image_size=(640, 0))


def test_folder_without_json(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InvalidInputError, match=r"folder holds no OpenPose JSON files"):
        read_openpose_json(tmp_path, fps=FPS)
    with pytest.raises(InvalidInputError, match=r"zero frames"):
        read_openpose_json([], fps=FPS)


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    write_frame(tmp_path / "c_000000000000_keypoints.json", [body25({})])
    (tmp_path / "c_000000000001_keypoints.json").write_text(
        '{"version":1.3,"people":[{"pose_keypoints_2d":[1,2 3]}]}'
    )
    with pytest.raises(
        InvalidInputError,
        match=r"c_000000000001_keypoints\.json: malformed JSON at line 1, column 52: Expecting .,. delimiter",
    ):
        read_openpose_json(tmp_path, fps=FPS)


def test_wrong_keypoint_count(tmp_path: Path) -> None:
    write_frame(tmp_path / "c_0_keypoints.json", [[1.0] * 60])
    with pytest.raises(
        InvalidInputError, match=r"c_0_keypoints\.json: .*has 60 values; expected 75 \(BODY_25"
    ):
        read_openpose_json(tmp_path, fps=FPS)


def test_non_numeric_values(tmp_path: Path) -> None:
    values: list = body25({})
    values[4] = "12"
    write_frame(tmp_path / "c_0_keypoints.json", [values])
    with pytest.raises(InvalidInputError, match=r"pose_keypoints_2d\[4\] is not a number: '12'"):
        read_openpose_json(tmp_path, fps=FPS)


def test_not_an_openpose_document(tmp_path: Path) -> None:
    (tmp_path / "c_0.json").write_text('{"frames": []}')
    with pytest.raises(InvalidInputError, match=r"expected an object with a 'people' list"):
        read_openpose_json(tmp_path, fps=FPS)


def test_mixed_layouts_and_mixed_clips(tmp_path: Path) -> None:
    write_frame(tmp_path / "c_0_keypoints.json", [body25({})])
    write_frame(tmp_path / "c_1_keypoints.json", [[1.0] * 78])
    with pytest.raises(
        InvalidInputError,
        match=r"c_1_keypoints\.json: .*26 keypoints .* has 25; all frames must use one layout",
    ):
        read_openpose_json(tmp_path, fps=FPS)
    other = tmp_path / "two"
    other.mkdir()
    write_frame(other / "a_000000000000_keypoints.json", [body25({})])
    write_frame(other / "b_000000000000_keypoints.json", [body25({})])
    with pytest.raises(InvalidInputError, match=r"several clips \(name prefixes 'a_', 'b_'\)"):
        read_openpose_json(other, fps=FPS)


def test_person_without_image_size_is_a_clear_error(tmp_path: Path) -> None:
    write_openpose_json(make_kp(2), tmp_path)
    mp = read_openpose_json(tmp_path, fps=FPS)
    with pytest.raises(InvalidInputError, match=r"image size unknown.*--image-size"):
        mp.person(0)
    assert mp.with_image_size((640, 480)).person(0).image_size == (640, 480)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda L: ["Frame#\tTime"] + L[1:], r"line 1 must start with 'PathFileType'"),
        (lambda L: L[:2] + ["30\t30"] + L[3:], r"lines 2-3 must be matching 'DataRate"),
        (lambda L: L[:3] + ["Marker\tTime\tRKnee"] + L[4:], r"line 4 must start with 'Frame#'"),
        (lambda L: L[:4] + ["0\t0.0\t1\t2\t3"] + L[5:], r"line 5 must be the X1 Y1 Z1"),
        (lambda L: L[:3], r"expected at least 5 header lines"),
        (lambda L: L[:5], r"zero frames"),
        (lambda L: L[:6] + ["1\t0.1\t10.0\t20.0"] + L[7:], r"line 7: 4 tab-separated values, expected 8"),
        (lambda L: L[:6] + ["1\t0.1\t10.0\tabc\t0\t1\t2\t3"] + L[7:], r"line 7: Y1 is not a number: 'abc'"),
        (
            lambda L: L[:6] + ["1\t0.0\t10.0\t20.0\t0\t1\t2\t3"] + L[7:],
            r"line 7: time 0 s is not after the previous 0 s",
        ),
        (
            lambda L: L[:6] + ["1.5\t0.1\t10.0\t20.0\t0\t1\t2\t3"] + L[7:],
            r"line 7: Frame# must be a whole number",
        ),
        (lambda L: L[:6] + ["1\t\t10.0\t20.0\t0\t1\t2\t3"] + L[7:], r"line 7: Time is empty"),
        (
            lambda L: L[:3] + ["Frame#\tTime\tFoo\t\t\tBar\t\t\t"] + L[4:],
            r"no known keypoint among the TRC markers \(Foo, Bar\)",
        ),
    ],
)
def test_trc_errors_name_file_and_line(tmp_path: Path, mutate, message: str) -> None:
    path = simple_trc(tmp_path)
    path.write_text("\n".join(mutate(path.read_text().splitlines())) + "\n")
    with pytest.raises(InvalidInputError, match=r"clip\.trc: .*" + message):
        read_trc(path)


@pytest.mark.parametrize("units", ["m", "mm"])
def test_trc_in_metres_is_refused(tmp_path: Path, units: str) -> None:
    path = simple_trc(tmp_path, units=units)
    with pytest.raises(
        InvalidInputError, match=rf"needs pixel keypoints, but the TRC Units field is '{units}'"
    ):
        read_trc(path)


def test_trc_unknown_units_and_bad_fps(tmp_path: Path) -> None:
    path = simple_trc(tmp_path, units="furlong")
    with pytest.raises(InvalidInputError, match=r"unknown TRC Units 'furlong'"):
        read_trc(path)
    path = simple_trc(tmp_path)
    with pytest.raises(InvalidInputError, match=r"'fps': must be a finite number > 0.*got -1"):
        read_trc(path, fps=-1)


def test_read_keypoints_dispatch(tmp_path: Path) -> None:
    kp = make_kp(3)
    write_openpose_json(kp, tmp_path / "j")
    write_trc(kp, tmp_path / "k.trc")
    assert read_keypoints(tmp_path / "j", fps=FPS).source == "openpose-body25"
    single = read_keypoints(tmp_path / "j" / "clip_000000000002_keypoints.json", fps=FPS)
    assert single.n_frames == 1 and single.frame_index[0] == 2
    assert read_keypoints(tmp_path / "k.trc").source == "trc"
    bad = tmp_path / "k.csv"
    bad.write_text("a,b\n")
    with pytest.raises(
        InvalidInputError,
        match=r"k\.csv: unsupported keypoint file type '\.csv'; supported: .*OpenPose.*\.trc",
    ):
        read_keypoints(bad)


def test_binary_file_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "video.trc"
    path.write_bytes(b"\x00\xff\xfe\x81binary")
    with pytest.raises(InvalidInputError, match=r"video\.trc: not a text file"):
        read_trc(path)


# ------------------------------------------------------------------------------- BODY_25 or BODY_25B
#: a person standing facing the camera (image x to the right, y down; the person's left on image right)
_STANDING = {
    "nose": (320, 100), "left_eye": (330, 90), "right_eye": (310, 90), "left_ear": (340, 95), "right_ear": (300, 95),
    "left_shoulder": (370, 160), "right_shoulder": (270, 160), "left_elbow": (385, 240), "right_elbow": (255, 240),
    "left_wrist": (390, 310), "right_wrist": (250, 310), "left_hip": (350, 320), "right_hip": (290, 320),
    "left_knee": (352, 440), "right_knee": (288, 440), "left_ankle": (354, 560), "right_ankle": (286, 560),
    "left_heel": (350, 575), "right_heel": (290, 575), "left_toe": (370, 585), "right_toe": (270, 585),
}
#: BODY_25B (OpenPose experimental; Pose2Sim): COCO_17 order, upper neck 17, head top 18, feet 19-24
_B25B = [*KEYPOINTS[:17], "upper_neck", "head_top", "left_toe", "left_small_toe", "left_heel", "right_toe",
         "right_small_toe", "right_heel"]


def _standing_frames(n: int = 10, seed: int = 1) -> list[dict[str, tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        d = {k: (x + rng.normal(0, 1.5), y + rng.normal(0, 1.5)) for k, (x, y) in _STANDING.items()}
        d["upper_neck"] = (0.5 * (d["left_shoulder"][0] + d["right_shoulder"][0]), d["left_shoulder"][1] - 15)
        d["head_top"] = (d["nose"][0], d["nose"][1] - 40)
        d["left_small_toe"], d["right_small_toe"] = d["left_toe"], d["right_toe"]
        out.append(d)
    return out


def test_body25b_is_told_from_body25_by_the_data(tmp_path: Path) -> None:
    """Index 8 is BODY_25's mid-hip but BODY_25B's right elbow: each layout is recognised from where
    its points lie, and every canonical point lands where it was."""
    frames = _standing_frames()
    b25, b25b = tmp_path / "b25", tmp_path / "b25b"
    b25.mkdir()
    b25b.mkdir()
    body25_index = {**{n: j for n, j in JSON_LAYOUTS[25][1].items()}}
    for t, d in enumerate(frames):
        v = [0.0] * 75
        for name, j in body25_index.items():
            v[3 * j : 3 * j + 3] = [*d[name], 0.9]
        for j, (a, b) in ((1, ("left_shoulder", "right_shoulder")), (8, ("left_hip", "right_hip"))):
            v[3 * j : 3 * j + 3] = [0.5 * (d[a][0] + d[b][0]), 0.5 * (d[a][1] + d[b][1]) + 2.0, 0.8]
        write_frame(b25 / f"t_{t:06d}.json", [v])
        write_frame(b25b / f"t_{t:06d}.json", [[c for name in _B25B for c in (*d[name], 0.9)]])
    a = read_openpose_json(b25, fps=FPS)
    b = read_openpose_json(b25b, fps=FPS)
    assert a.source == "openpose-body25" and b.source == "openpose-body25b"
    assert b.log[-1]["layout"] == "BODY_25B"
    for name in _STANDING:
        np.testing.assert_allclose(b.position[:, 0, K[name]], [f[name] for f in frames], atol=1e-3, err_msg=name)
        np.testing.assert_allclose(a.position[:, 0, K[name]], b.position[:, 0, K[name]], atol=1e-3, err_msg=name)
    # BODY_25B read as BODY_25 would have put the hips at a wrist and a hip: not what came out
    assert np.linalg.norm(b.position[0, 0, K["left_hip"]] - b.position[0, 0, K["right_hip"]]) < 80


def test_25_keypoints_fitting_neither_layout_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    d = _standing_frames(3)
    for t, f in enumerate(d):
        names = list(_STANDING)
        rng.shuffle(names)
        v = [c for name in (names + names)[:25] for c in (*f[name], 0.9)]
        write_frame(tmp_path / f"t_{t:06d}.json", [v])
    with pytest.raises(InvalidInputError, match="fits neither OpenPose BODY_25.*nor BODY_25B.*does not guess"):
        read_openpose_json(tmp_path, fps=FPS)
