"""Lab marker files: the Markers3D container, C3D (through ezc3d), TRC and text tables.

Every file is written by the test itself (real C3D files through ezc3d); the real Vicon trial of
the shared UQAM data is read when ../shared is present and skipped otherwise.
"""

from __future__ import annotations

from pathlib import Path

import ezc3d
import numpy as np
import pytest

from medius.errors import InputNotFoundError, InvalidInputError, OutputError
from medius.io.markers import Markers3D, read_c3d, read_marker_text, read_trc_3d, write_c3d

UQAM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "uqam-plugin-gait"


def _markers(n: int = 50, rate: float = 100.0, t0: float = 0.0) -> Markers3D:
    t = t0 + np.arange(n) / rate
    pos = np.zeros((n, 3, 3))
    pos[:, 0] = np.c_[0.1 * np.sin(2 * np.pi * t), 1.2 * t - 2.0, 0.9 + 0.01 * np.cos(2 * np.pi * t)]
    pos[:, 1] = pos[:, 0] + [0.25, 0.0, 0.0]
    pos[:, 2] = pos[:, 0] + [0.12, -0.15, 0.05]
    pos[10:13, 2] = np.nan
    events = [
        {"side": "left", "kind": "foot_strike", "time_s": t0 + 0.12},
        {"side": "right", "kind": "foot_off", "time_s": t0 + 0.2},
        {"side": None, "kind": "general", "time_s": t0 + 0.3},
    ]
    return Markers3D(pos, ("LASI", "RASI", "SACR"), t, rate, events=events, source="synthetic")


def _raw_c3d(path: Path, labels, xyz_tlc: np.ndarray, *, units: str | None = "mm", rate: float = 100.0):
    """Write a C3D directly with ezc3d: positions (time, marker, 3) in the file's unit."""
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = tuple(labels)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = [units] if units is not None else []
    pts = np.ones((4, len(labels), xyz_tlc.shape[0]))
    pts[:3] = np.transpose(xyz_tlc, (2, 1, 0))
    c3d["data"]["points"] = pts
    del c3d["data"]["rotations"]
    c3d.write(str(path))
    return path


# ----------------------------------------------------------------------------- container
def test_container_normalises_partial_nan_and_sorts_events():
    pos = np.ones((4, 2, 3))
    pos[1, 0, 2] = np.nan
    ev = [
        {"side": "right", "kind": "foot_off", "time_s": 0.3},
        {"side": "left", "kind": "foot_strike", "time_s": 0.1},
    ]
    m = Markers3D(pos, ("A", "B"), np.arange(4) / 10, 10.0, events=ev)
    assert np.isnan(m.position[1, 0]).all()
    assert m.present()[:, 0].tolist() == [True, False, True, True]
    assert [e["time_s"] for e in m.events] == [0.1, 0.3]
    assert pos[1, 0, 0] == 1.0  # the caller's array is not modified


def test_xyz_unknown_label_names_close_matches():
    m = _markers()
    assert m.xyz("RASI").shape == (m.n_frames, 3)
    with pytest.raises(KeyError, match=r"no marker 'LASIS'.*did you mean 'LASI'"):
        m.xyz("LASIS")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"position": np.zeros((3, 2, 2))}, "position must be"),
        ({"labels": ("A", "A")}, "labels must be unique"),
        ({"time_s": np.array([0.0, 0.0, 0.1])}, "strictly increasing"),
        ({"rate_hz": 0.0}, "rate_hz"),
        ({"events": [{"side": "up", "kind": "foot_off", "time_s": 0.1}]}, "event side"),
    ],
)
def test_container_rejects_bad_values(kwargs, match):
    base = {
        "position": np.zeros((3, 2, 3)),
        "labels": ("A", "B"),
        "time_s": np.arange(3) / 10,
        "rate_hz": 10.0,
    }
    with pytest.raises(ValueError, match=match):
        Markers3D(**{**base, **kwargs})


def test_with_markers_select_slice_and_log():
    m = _markers()
    extra = np.full((m.n_frames, 3), 0.5)
    m2 = m.with_markers({"LHJC": extra, "LASI": extra}).with_log("test", note=1)
    assert m2.labels == ("LASI", "RASI", "SACR", "LHJC")
    assert np.all(m2.xyz("LASI") == 0.5) and np.all(m.xyz("LASI") != 0.5)
    assert m2.log[-1]["operation"] == "test" and m2.log[-1]["note"] == 1
    assert m2.select(["LHJC", "RASI"]).labels == ("LHJC", "RASI")
    s = m.slice_frames(slice(15, 25))
    assert s.n_frames == 10 and [e["kind"] for e in s.events] == ["foot_off"]


# ----------------------------------------------------------------------------- C3D
def test_c3d_round_trip_positions_time_events(tmp_path):
    m = _markers(t0=2.6)
    path = write_c3d(m, tmp_path / "trial.c3d")
    back = read_c3d(path)
    assert back.labels == m.labels
    assert back.rate_hz == 100.0
    np.testing.assert_allclose(back.time_s, m.time_s, atol=1e-9)
    np.testing.assert_allclose(back.position, m.position, atol=1e-6)  # float32 mm in the file
    assert np.array_equal(np.isnan(back.position), np.isnan(m.position))
    assert [(e["side"], e["kind"]) for e in back.events] == [
        ("left", "foot_strike"),
        ("right", "foot_off"),
        (None, "general"),
    ]
    np.testing.assert_allclose([e["time_s"] for e in back.events], [2.72, 2.8, 2.9], atol=1e-6)
    entry = back.log[-1]
    assert entry["operation"] == "read_c3d" and entry["units"] == "mm" and entry["first_frame"] == 261


def test_c3d_processing_subject_parameters(tmp_path):
    """Vicon's PROCESSING group (mm; 0 = not set) becomes Markers3D.subject in metres, and back."""
    path = _raw_c3d(tmp_path / "subject.c3d", ["LASI", "RASI"], np.ones((4, 2, 3)))
    c3d = ezc3d.c3d(str(path))
    for name, value in (("LKneeWidth", 101.5), ("RKneeWidth", 99.0), ("LAnkleWidth", 70.0),
                        ("RAnkleWidth", 0.0), ("MarkerDiameter", 14.0), ("Bodymass", 72.5), ("Gender", "F")):
        c3d.add_parameter("PROCESSING", name, [value] if not isinstance(value, str) else value)
    c3d.write(str(path))
    m = read_c3d(path)
    assert m.subject == pytest.approx(
        {"left_knee_width_m": 0.1015, "right_knee_width_m": 0.099, "left_ankle_width_m": 0.07,
         "marker_diameter_m": 0.014, "body_mass_kg": 72.5}
    )  # RAnkleWidth 0 (Vicon's "not set") and the text parameter are left out
    assert m.log[-1]["subject_parameters"]["left_knee_width_m"] == pytest.approx(0.1015)
    back = read_c3d(write_c3d(m, tmp_path / "again.c3d"))
    assert back.subject == pytest.approx(m.subject)
    assert read_c3d(write_c3d(_markers(), tmp_path / "none.c3d")).subject == {}
    with pytest.raises(ValueError, match="unknown subject parameter 'knee'"):
        Markers3D(np.zeros((2, 1, 3)), ("A",), [0.0, 0.01], 100.0, subject={"knee": 0.1})
    with pytest.raises(ValueError, match="must be a positive number"):
        Markers3D(np.zeros((2, 1, 3)), ("A",), [0.0, 0.01], 100.0, subject={"left_knee_width_m": -1})


def test_c3d_event_minutes_are_added(tmp_path):
    m = _markers().replace(events=({"side": "right", "kind": "foot_strike", "time_s": 75.25},))
    back = read_c3d(write_c3d(m, tmp_path / "late.c3d"))
    raw = ezc3d.c3d(str(tmp_path / "late.c3d"))["parameters"]["EVENT"]["TIMES"]["value"]
    assert raw[0][0] == 1.0 and raw[1][0] == pytest.approx(15.25)  # row 0 minutes, row 1 seconds
    assert back.events[0]["time_s"] == pytest.approx(75.25)


@pytest.mark.parametrize(("unit", "factor"), [("mm", 1e-3), ("cm", 1e-2), ("m", 1.0), (None, 1e-3)])
def test_c3d_units_are_converted_to_metres(tmp_path, unit, factor):
    xyz = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3) + 1.0
    path = _raw_c3d(tmp_path / "u.c3d", ["A", "B"], xyz, units=unit)
    m = read_c3d(path)
    np.testing.assert_allclose(m.position, xyz * factor, rtol=1e-6)
    assert m.log[-1]["metres_per_unit"] == factor
    if unit is None:
        assert m.log[-1]["units_from"].startswith("assumed")


def test_c3d_unknown_unit_is_refused(tmp_path):
    path = _raw_c3d(tmp_path / "inch.c3d", ["A"], np.ones((2, 1, 3)), units="in")
    with pytest.raises(InvalidInputError, match=r"inch\.c3d: unknown length unit 'in' in POINT:UNITS"):
        read_c3d(path)


def test_c3d_subject_prefix_residuals_and_model_outputs(tmp_path):
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = ("Sub01:LASI ", "Sub01:RASI", "Sub01:LHipAngles")
    c3d["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c3d.add_parameter("POINT", "ANGLES", ["Sub01:LHipAngles"])
    pts = np.ones((4, 3, 4))
    pts[:3] = 100.0
    c3d["data"]["points"] = pts
    del c3d["data"]["rotations"]
    res = np.zeros((1, 3, 4))
    res[0, 0, 1] = -1.0  # the camera system could not reconstruct LASI in frame 1
    c3d["data"]["meta_points"] = {"residuals": res, "camera_masks": np.zeros((7, 3, 4), dtype=bool)}
    c3d.write(str(tmp_path / "vicon.c3d"))
    m = read_c3d(tmp_path / "vicon.c3d")
    assert m.labels == ("LASI", "RASI")
    assert m.log[-1]["subject_prefix_removed"] == "Sub01"
    assert np.isnan(m.xyz("LASI")[1]).all() and np.allclose(m.xyz("LASI")[0], 0.1)
    np.testing.assert_allclose(m.model_outputs["LHipAngles"], 100.0)  # degrees, never scaled


def test_c3d_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError, match=r"nope\.c3d: no such file"):
        read_c3d(tmp_path / "nope.c3d")


@pytest.mark.parametrize("content", [b"hello, this is not a C3D file\n", b""])
def test_c3d_not_a_c3d(tmp_path, content):
    path = tmp_path / "fake.c3d"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=r"fake\.c3d: not a readable C3D file"):
        read_c3d(path)


def test_c3d_folder_is_refused(tmp_path):
    (tmp_path / "dir.c3d").mkdir()
    with pytest.raises(InvalidInputError, match="is a folder"):
        read_c3d(tmp_path / "dir.c3d")


def test_c3d_without_points(tmp_path):
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c3d["parameters"]["ANALOG"]["RATE"]["value"] = [1000.0]
    c3d["parameters"]["ANALOG"]["LABELS"]["value"] = ("EMG1",)
    c3d["data"]["analogs"] = np.zeros((1, 1, 100))
    del c3d["data"]["rotations"]
    c3d.write(str(tmp_path / "analog_only.c3d"))
    with pytest.raises(
        InvalidInputError, match=r"analog_only\.c3d: the C3D file has no point data \(0 points"
    ):
        read_c3d(tmp_path / "analog_only.c3d")


def test_c3d_with_zero_frames(tmp_path):
    path = _raw_c3d(tmp_path / "empty.c3d", ["A"], np.zeros((0, 1, 3)))
    with pytest.raises(InvalidInputError, match=r"no point data \(1 points, 0 frames\)"):
        read_c3d(path)


def test_c3d_truncated(tmp_path):
    full = write_c3d(_markers(n=200), tmp_path / "full.c3d").read_bytes()
    (tmp_path / "cut.c3d").write_bytes(full[: len(full) - 700])
    with pytest.raises(InvalidInputError, match=r"cut\.c3d: (truncated C3D file|not a readable C3D)"):
        read_c3d(tmp_path / "cut.c3d")


def test_write_c3d_needs_the_suffix(tmp_path):
    with pytest.raises(OutputError, match=r"must end in '\.c3d'"):
        write_c3d(_markers(), tmp_path / "trial.C3D")


# ----------------------------------------------------------------------------- TRC
def _trc(path: Path, units: str | None, *, rate: str = "100", time: bool = True, rows=None) -> Path:
    head = ["DataRate", "CameraRate", "NumFrames", "NumMarkers"] + (["Units"] if units is not None else [])
    vals = [rate, rate, "3", "2"] + ([units] if units is not None else [])
    lines = [
        "PathFileType\t4\t(X/Y/Z)\tx.trc",
        "\t".join(head),
        "\t".join(vals),
        "Frame#\t" + ("Time\t" if time else "") + "LASI\t\t\tRASI\t\t\t",
        "\t" + ("\t" if time else "") + "X1\tY1\tZ1\tX2\tY2\tZ2",
    ]
    rows = rows or [
        ["1", "0.00", "100", "200", "900", "350", "200", "900"],
        ["2", "0.01", "110", "200", "900", "360", "200", "900"],
        ["3", "0.02", "", "", "", "370", "200", "900"],
    ]
    for r in rows:
        lines.append("\t".join(r if time else [r[0], *r[2:]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("units", "factor"), [("mm", 1e-3), ("m", 1.0)])
def test_trc_3d_units(tmp_path, units, factor):
    m = read_trc_3d(_trc(tmp_path / "a.trc", units))
    assert m.labels == ("LASI", "RASI") and m.rate_hz == 100.0
    np.testing.assert_allclose(m.xyz("LASI")[1], np.array([110, 200, 900]) * factor)
    assert np.isnan(m.xyz("LASI")[2]).all()
    np.testing.assert_allclose(m.time_s, [0.0, 0.01, 0.02])


def test_trc_3d_time_from_datarate(tmp_path):
    m = read_trc_3d(_trc(tmp_path / "b.trc", "mm", rate="50", time=False))
    np.testing.assert_allclose(m.time_s, [0.0, 0.02, 0.04])


def test_trc_3d_units_argument_when_the_file_has_none(tmp_path):
    path = _trc(tmp_path / "c.trc", None)
    with pytest.raises(
        InvalidInputError, match=r"c\.trc: the file does not state its length unit; give it \(units="
    ):
        read_trc_3d(path)
    np.testing.assert_allclose(read_trc_3d(path, units="m").xyz("RASI")[0], [350, 200, 900])
    with pytest.raises(InvalidInputError, match=r"says its unit is 'mm'.*units='m'"):
        read_trc_3d(_trc(tmp_path / "d.trc", "mm"), units="m")
    with pytest.raises(ValueError, match="'units' parameter"):
        read_trc_3d(path, units="inch")


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([["1", "0.0", "1", "2", "3", "4", "5"]], r"line 6: 7 values, expected 8"),
        ([["1", "0.0", "1", "2", "abc", "4", "5", "6"]], r"line 6: LASI Z is not a number: 'abc'"),
        (
            [["1", "0.1", "1", "2", "3", "4", "5", "6"], ["2", "0.1", "1", "2", "3", "4", "5", "6"]],
            r"line 7: time 0.1 s is not after",
        ),
    ],
)
def test_trc_3d_bad_rows(tmp_path, rows, match):
    with pytest.raises(InvalidInputError, match=match):
        read_trc_3d(_trc(tmp_path / "bad.trc", "mm", rows=rows))


def test_trc_3d_not_a_trc(tmp_path):
    (tmp_path / "x.trc").write_text("hello\nworld\n")
    with pytest.raises(InvalidInputError, match=r"x\.trc: not a TRC file"):
        read_trc_3d(tmp_path / "x.trc")
    with pytest.raises(InputNotFoundError, match="no such file"):
        read_trc_3d(tmp_path / "missing.trc")


# ----------------------------------------------------------------------------- text tables
def test_marker_text_one_header_row(tmp_path):
    path = tmp_path / "one.tsv"
    path.write_text(
        "Time\tLASI_X\tLASI_Y\tLASI_Z\tRASI.x\tRASI.y\tRASI.z\n"
        "0.00\t100\t200\t900\t350\t200\t900\n"
        "0.01\t101\t\t901\t351\t201\t901\n",
        encoding="utf-8",
    )
    m = read_marker_text(path, units="mm")
    assert m.labels == ("LASI", "RASI")
    np.testing.assert_allclose(m.xyz("RASI")[1], [0.351, 0.201, 0.901])
    assert np.isnan(m.xyz("LASI")[1]).all()
    assert m.log[-1]["layout"].startswith("one header row")
    with pytest.raises(InvalidInputError, match=r"one\.tsv: the file does not state its length unit"):
        read_marker_text(path)


def test_marker_text_two_header_rows_with_units_row_and_commas(tmp_path):
    path = tmp_path / "nexus.csv"
    path.write_text(
        "Frame,LASI,,,RASI,,\n,X,Y,Z,X,Y,Z\n,mm,mm,mm,mm,mm,mm\n10,100,200,900,350,200,900\n11,102,200,900,352,200,900\n",
        encoding="utf-8",
    )
    m = read_marker_text(path, rate_hz=200.0)
    np.testing.assert_allclose(m.time_s, [0.0, 0.005])
    np.testing.assert_allclose(m.xyz("LASI")[1], [0.102, 0.2, 0.9])
    assert m.log[-1]["units_from"] == "units row" and m.rate_hz == 200.0


def test_marker_text_two_header_rows_tab_metres(tmp_path):
    path = tmp_path / "two.txt"
    path.write_text(
        "Time\tLASI\t\t\n\tX1\tY1\tZ1\n0.0\t0.1\t0.2\t0.9\n0.5\t0.1\t0.3\t0.9\n", encoding="utf-8"
    )
    m = read_marker_text(path, units="m")
    assert m.rate_hz == pytest.approx(2.0)
    np.testing.assert_allclose(m.xyz("LASI")[1], [0.1, 0.3, 0.9])


def test_marker_text_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a\tb\tc\n1\t2\t3\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"bad\.txt: marker table header does not parse"):
        read_marker_text(bad, units="mm")
    notime = tmp_path / "notime.txt"
    notime.write_text("LASI_X\tLASI_Y\tLASI_Z\n1\t2\t3\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no Time column and no usable rate; give the sampling rate"):
        read_marker_text(notime, units="mm")
    np.testing.assert_allclose(
        read_marker_text(notime, units="mm", rate_hz=100).position[0, 0], [1e-3, 2e-3, 3e-3]
    )
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="empty"):
        read_marker_text(tmp_path / "empty.txt", units="mm")


# ----------------------------------------------------------------------------- real data
@pytest.mark.skipif(
    not (UQAM / "gait.c3d").is_file(), reason=f"shared UQAM Plug-in Gait data not found at {UQAM}"
)
def test_real_vicon_trial_reads_with_its_events():
    m = read_c3d(UQAM / "gait.c3d")
    assert m.n_frames == 474 and m.rate_hz == 100.0
    assert m.time_s[0] == pytest.approx(2.60)  # header first frame 261: frame 1 is at 0 s
    assert {"LASI", "RASI", "LPSI", "RPSI", "LKNE", "RTOE", "LPelvisAngles"} <= set(m.labels)
    assert m.log[-1]["units"] == "m"
    assert 0.15 < np.linalg.norm(np.nanmedian(m.xyz("RASI") - m.xyz("LASI"), axis=0)) < 0.30  # metres
    assert len(m.events) == 19
    assert (m.events[0]["kind"], m.events[1]["kind"]) == ("foot_off", "foot_strike")
    assert m.events[0]["time_s"] == pytest.approx(2.73, abs=1e-6)
    assert all(e["side"] is None for e in m.events)  # this file's EVENT:CONTEXTS are empty
    assert all(m.time_s[0] <= e["time_s"] <= m.time_s[-1] for e in m.events)
