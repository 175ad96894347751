"""A sweep over odd C3D files, the ones labs meet: each analyses, or is refused with one line naming
what is wrong (exit 4), never a traceback. Built in a temporary folder from the reduced public walk
(tests/data/lab-reference/walk-lower-body.c3d) by changing one thing each; the public files of other
vendors (shared/data/lab-reference) are swept too when that folder is there.
"""

from __future__ import annotations

import struct
from pathlib import Path

import ezc3d
import numpy as np
import pytest

from medius.io.force_plates import read_c3d_trial
from medius.io.markers import read_c3d
from tests.conftest import analyze_json

WALK = Path(__file__).parent / "data" / "lab-reference" / "walk-lower-body.c3d"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lab-reference"


def _edit(tmp: Path, name: str, change) -> Path:
    c = ezc3d.c3d(str(WALK))
    change(c)
    out = tmp / f"{name}.c3d"
    c.write(str(out))
    return out


def _patch(tmp: Path, name: str, change) -> Path:
    b = bytearray(WALK.read_bytes())
    change(b)
    out = tmp / f"{name}.c3d"
    out.write_bytes(bytes(b))
    return out


def _units(unit: str, scale: float):
    def change(c):
        c["parameters"]["POINT"]["UNITS"]["value"] = [unit]
        c["data"]["points"][:3] *= scale
    return change


def _labels(short: bool):
    """The walk's 8 events relabelled: ``LHS``/``RTO`` ... without a context, or ``foot strike`` in
    lower case with lower-case contexts."""
    def change(c):
        ev = c["parameters"]["EVENT"]
        labels = [x.strip() for x in ev["LABELS"]["value"]]
        sides = [x.strip() for x in ev["CONTEXTS"]["value"]]
        if short:
            ev["LABELS"]["value"] = [s[0] + ("HS" if lab == "Foot Strike" else "TO") for lab, s in zip(labels, sides, strict=True)]
            ev["CONTEXTS"]["value"] = [""] * len(labels)
        else:
            ev["LABELS"]["value"] = [lab.lower() for lab in labels]
            ev["CONTEXTS"]["value"] = [s.lower() for s in sides]
    return change


def _zeros(c):
    labels = [x.strip() for x in c["parameters"]["POINT"]["LABELS"]["value"]]
    i = labels.index("RASI")
    c["data"]["points"][:3, i, 100:104] = 0.0  # a gap stored as exact zeros ...
    c["data"]["meta_points"]["residuals"][0, i, 100:104] = 1.0  # ... with a positive residual


def _two_subjects(c):
    labels = [x.strip() for x in c["parameters"]["POINT"]["LABELS"]["value"]]
    half = len(labels) // 2
    c["parameters"]["POINT"]["LABELS"]["value"] = [("Ann:" if i < half else "Bob:") + x for i, x in enumerate(labels)]


def _param_block(b: bytearray) -> int:
    return (b[0] - 1) * 512


def _mips(b: bytearray) -> None:
    b[_param_block(b) + 3] = 86


def _bad_offset(b: bytearray) -> None:
    pb = _param_block(b) + 4
    n = abs(struct.unpack("b", b[pb : pb + 1])[0])
    b[pb + 2 + n : pb + 4 + n] = struct.pack("<h", -7)


def _data_beyond(b: bytearray) -> None:
    b[16:18] = struct.pack("<H", 60000)


# name -> (how the file is made, expected exit code, a phrase of the message or of a warning)
CASES = {
    "units-cm": (lambda t: _edit(t, "units-cm", _units("cm", 0.1)), 0, None),
    "units-m": (lambda t: _edit(t, "units-m", _units("m", 0.001)), 0, None),
    "units-empty": (lambda t: _edit(t, "units-empty", _units(" ", 1.0)), 0, None),
    "units-misspelled": (lambda t: _edit(t, "units-misspelled", _units("milimetres", 1.0)), 4, "unknown length unit"),
    "zero-points": (lambda t: _edit(t, "zero-points", _zeros), 0, None),
    "labels-no-side": (lambda t: _edit(t, "labels-no-side", _labels(True)), 0, None),
    "labels-lower-case": (lambda t: _edit(t, "labels-lower-case", _labels(False)), 0, None),
    "two-subjects": (lambda t: _edit(t, "two-subjects", _two_subjects), 4, "holds 2 subjects (Ann, Bob)"),
    "mips": (lambda t: _patch(t, "mips", _mips), 4, "SGI/MIPS"),
    "bad-parameter-offset": (lambda t: _patch(t, "bad-parameter-offset", _bad_offset), 4, "malformed parameter section"),
    "data-beyond-end": (lambda t: _patch(t, "data-beyond-end", _data_beyond), 4, "beyond the end"),
    "truncated": (lambda t: _patch(t, "truncated", lambda b: b.__delitem__(slice(len(b) - 300_000, None))), 4,
                  "truncated C3D file"),
    "not-c3d": (lambda t: (t / "not-c3d.c3d").write_text("Frame,LASI_X\n1,2\n") and t / "not-c3d.c3d", 4, "C3D"),
    "empty": (lambda t: (t / "empty.c3d").write_bytes(b"") or t / "empty.c3d", 4, "C3D"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_odd_file_analyses_or_gets_one_line(case, tmp_path):
    make, code, phrase = CASES[case]
    path = make(tmp_path)
    got, res, err = analyze_json(path, "--task", "walk", "--out", tmp_path / "o")
    assert got == code, err
    assert "Traceback" not in err
    if code:
        assert len(err.strip().splitlines()) == 1 and str(path.name) in err
        assert phrase in err
        assert not (tmp_path / "o").exists()
    else:
        assert res["stances"] and all(r["status"] == "complete" for r in res["stances"]), res["quality"]["warnings"]


def test_units_and_zero_points_read_as_the_original(tmp_path):
    ref = read_c3d(WALK)
    for unit, scale in (("cm", 0.1), ("m", 0.001)):
        m = read_c3d(_edit(tmp_path, f"u-{unit}", _units(unit, scale)))
        np.testing.assert_allclose(m.position, ref.position, rtol=1e-5, atol=1e-6)
    z = read_c3d(_edit(tmp_path, "z", _zeros))
    assert np.isnan(z.xyz("RASI")[100:104]).all() and np.isfinite(z.xyz("RASI")[95:100]).all()
    assert z.log[-1]["n_exact_zero_points_missing"] == 4


def test_event_labels_without_side_or_in_lower_case(tmp_path):
    ref = read_c3d(WALK).events
    a = read_c3d(_edit(tmp_path, "a", _labels(True)))
    b = read_c3d(_edit(tmp_path, "b", _labels(False)))
    assert a.events == ref and b.events == ref
    got, res, err = analyze_json(tmp_path / "a.c3d", "--task", "walk", "--events", "file", "--out", tmp_path / "o")
    assert got == 0 and len(res["events"]) == 8, err


def _plates_in_volts(c):
    units = list(c["parameters"]["ANALOG"]["UNITS"]["value"])
    c["parameters"]["ANALOG"]["UNITS"]["value"] = ["V"] * len(units)


def _plates_unloaded(c):
    c["data"]["analogs"][:] = 0.0


@pytest.mark.parametrize(("case", "change", "warning"), [
    ("volts", _plates_in_volts, "plate 1 skipped: its force channels are in 'V'"),
    ("unloaded", _plates_unloaded, "Force plates not used for the events (no foot contacts found"),
])
def test_plate_problems_fall_back_to_marker_events_and_say_why(tmp_path, case, change, warning):
    path = _edit(tmp_path, case, change)
    got, res, err = analyze_json(path, "--task", "walk", "--out", tmp_path / "o")
    assert got == 0, err
    assert res["provenance"]["parameters"]["events"]["used"] == "markers"
    assert any(warning in w for w in res["quality"]["warnings"]), res["quality"]["warnings"]
    assert res["stances"]
    if case == "unloaded":  # --events force-plates asks for them: refused in one line
        got, _, err = analyze_json(path, "--task", "walk", "--events", "force-plates", "--out", tmp_path / "f")
        assert got == 4 and "--events force-plates" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared lab-reference data not present")
def test_other_vendors_files_read_or_refused_in_one_line(tmp_path):
    """Qualisys duplicate labels, OptiTrack DEC integers, two subjects, 922 analog channels, NaN
    coordinates, no points: read (or one line), then analysed or refused with one line."""
    for f in sorted(SHARED.glob("*/*.c3d")):
        try:
            read_c3d_trial(f)
        except Exception as exc:  # only medius' own one-line errors
            assert type(exc).__name__ in ("InvalidInputError", "NotJudgeableError"), (f, exc)
        got, _, err = analyze_json(f, "--task", "walk", "--out", tmp_path / f.stem)
        assert got in (0, 4, 5), (f, err)
        assert "Traceback" not in err and (got == 0 or len(err.strip().splitlines()) == 1), (f, err)
