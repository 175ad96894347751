"""medius.batch without a cluster: manifests, item keys, the ledger, tidy rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medius.batch import (
    BatchItem,
    ItemSettings,
    Ledger,
    ManifestError,
    analyze_item,
    compute_input_sha256,
    compute_item_key,
    discover_items,
    item_folder_name,
    iter_result_rows,
    read_manifest,
    task_names,
)
from medius.errors import InputNotFoundError, InvalidInputError
from medius.protocols import TASKS


def _touch(p: Path, data: bytes = b"x") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_task_names_come_from_the_protocols():
    assert task_names() == tuple(TASKS)


def test_manifest_reads_rows_with_defaults_and_extra_columns(tmp_path):
    _touch(tmp_path / "a.trc")
    _touch(tmp_path / "b" / "f_keypoints.json", b"{}")
    (tmp_path / "m.csv").write_text(
        "Path,Task,Person ID,Side,Group,fps,image_size,site\n"
        "a.trc,step-down,P01,left,pfp,,,Oslo\n"
        f"{tmp_path / 'b'},,P02,,control,25,640x480,Bergen\n",
        encoding="utf-8",
    )
    defaults = ItemSettings(task="single-leg-squat", side="auto", fps=30.0, annotated_video=False)
    a, b = read_manifest(tmp_path / "m.csv", defaults)
    assert (a.path, a.person_id, a.group, a.row) == ((tmp_path / "a.trc").absolute(), "P01", "pfp", 2)
    assert (a.settings.task, a.settings.side, a.settings.fps, a.settings.annotated_video) == (
        "step-down", "left", 30.0, False)
    assert a.extra == {"site": "Oslo"}
    assert (b.settings.task, b.settings.side, b.settings.fps, b.settings.image_size) == (
        "single-leg-squat", "auto", 25.0, (640, 480))


def test_manifest_lists_every_bad_row_with_file_row_and_column(tmp_path):
    _touch(tmp_path / "a.trc")
    (tmp_path / "m.csv").write_text(
        "path,task,person_id,side,fps\n"
        "a.trc,jumping,P1,left,\n"
        "missing.trc,,P2,,\n"
        "a.trc,,P3,middle,-3\n"
        "a.trc,,P4,,\n"
        "a.trc,,P5,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match=r"5 problems in the manifest") as info:
        read_manifest(tmp_path / "m.csv", ItemSettings())
    problems = info.value.problems
    assert problems[0].startswith("m.csv, row 2, column 'task': unknown task 'jumping'; allowed: ")
    assert problems[1].startswith("m.csv, row 3, column 'path': no such file or folder")
    assert problems[2] == "m.csv, row 4, column 'side': must be one of auto, left, right, got 'middle'"
    assert problems[3].startswith("m.csv, row 4, column 'fps': must be a number")
    assert problems[4] == "m.csv, row 6, column 'path': same input and settings as row 5"
    assert info.value.exit_code == 4


def test_manifest_without_path_column_or_rows(tmp_path):
    (tmp_path / "m.csv").write_text("file,task\nx,y\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"row 1, column 'path': missing"):
        read_manifest(tmp_path / "m.csv", ItemSettings())
    (tmp_path / "e.csv").write_text("path,task\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="no rows after the header"):
        read_manifest(tmp_path / "e.csv", ItemSettings())
    with pytest.raises(InputNotFoundError, match="no such manifest"):
        read_manifest(tmp_path / "none.csv", ItemSettings())


def test_discover_items_finds_videos_keypoint_files_and_json_folders(tmp_path):
    _touch(tmp_path / "b.mp4")
    _touch(tmp_path / "a.trc")
    _touch(tmp_path / "c" / "x_keypoints.json", b"{}")
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / "person" / "trial.c3d")
    _touch(tmp_path / "person" / "medius-synthetic.json", b"{}")
    (tmp_path / "empty").mkdir()
    names = [i.path.name for i in discover_items(tmp_path, ItemSettings())]
    assert names == ["a.trc", "b.mp4", "c", "trial.c3d"]
    with pytest.raises(InvalidInputError, match="is an OpenPose JSON folder"):
        discover_items(tmp_path / "c", ItemSettings())
    with pytest.raises(InvalidInputError, match="holds no inputs"):
        discover_items(tmp_path / "empty", ItemSettings())


def test_item_key_changes_with_content_settings_and_version(tmp_path):
    f = _touch(tmp_path / "a.trc", b"one")
    s = ItemSettings()
    k = compute_item_key(compute_input_sha256(f), s)
    assert k == compute_item_key(compute_input_sha256(f), ItemSettings())
    assert len(k) == 64
    assert compute_item_key(compute_input_sha256(f), ItemSettings(side="left")) != k
    assert compute_item_key(compute_input_sha256(f), s, version="0.0.0-other") != k
    f.write_bytes(b"two")
    assert compute_item_key(compute_input_sha256(f), s) != k
    # a folder: names and contents of its files
    d = tmp_path / "d"
    _touch(d / "1.json", b"{}")
    h1 = compute_input_sha256(d)
    _touch(d / "2.json", b"{}")
    assert compute_input_sha256(d) != h1
    with pytest.raises(InputNotFoundError, match="no such file"):
        compute_input_sha256(tmp_path / "nope")


def test_item_folder_name_is_safe():
    item = BatchItem(path=Path("/x/clip 1.mp4"), settings=ItemSettings(), person_id="Ann / B")
    assert item_folder_name(item, "abcdef0123") == "Ann_B-abcdef01"
    assert item_folder_name(BatchItem(path=Path("/x/clip 1.mp4"), settings=ItemSettings()), "ff" * 8) == (
        "clip_1-ffffffff")


def test_ledger_ignores_a_line_cut_short(tmp_path):
    led = Ledger(tmp_path)
    led.append({"event": "item", "key": "k1", "status": "ok", "out_dir": "items/a"})
    led.append({"event": "item", "key": "k2", "status": "failed", "out_dir": "items/b"})
    led.append({"event": "item", "key": "k1", "status": "not_judgeable", "out_dir": "items/a"})
    with open(led.path, "ab") as fh:
        fh.write(b'{"event": "item", "key": "k3", "sta')
    latest = led.latest()
    assert sorted(latest) == ["k1", "k2"]
    assert latest["k1"]["status"] == "not_judgeable"
    assert led.done() == {}  # no result.json yet
    _touch(tmp_path / "items" / "a" / "result.json", b"{}")
    assert list(led.done()) == ["k1"]


def test_tidy_rows_from_reps_and_stances_use_the_result_metric_definitions():
    result = {
        "metrics": {"fppa_deg": {"label": "FPPA", "unit": "deg"}, "stride_m": {"label": "stride", "unit": "m"}},
        "reps": [{"rep": 1, "side": "left", "status": "complete", "start_s": 1.0, "end_s": 2.0,
                  "metrics": {"fppa_deg": {"peak": 7.5, "peak_s": 1.5, "at_bottom": 7.0}}}],
        "stances": [{"stance": 4, "side": "right", "status": "complete", "start_s": 3.0, "end_s": 3.6,
                     "metrics": {"stride_m": 1.21, "fppa_deg": {"mean": 3.0}}}],
    }
    rows = list(iter_result_rows(result))
    assert [(r["record"], r["number"], r["metric"], r["unit"], r["value"], r["value_field"]) for r in rows] == [
        ("rep", 1, "fppa_deg", "deg", 7.5, "peak"),
        ("stance", 4, "stride_m", "m", 1.21, "value"),
        ("stance", 4, "fppa_deg", "deg", 3.0, "mean"),
    ]
    assert rows[0]["peak_s"] == 1.5 and rows[0]["at_bottom"] == 7.0 and rows[0]["label"] == "FPPA"


def test_analyze_item_records_a_corrupt_input_as_failed(tmp_path):
    bad = _touch(tmp_path / "broken.mp4", b"this is not a video")
    out = tmp_path / "out"
    s = analyze_item({"key": "k", "path": str(bad), "out_dir": str(out), "settings": ItemSettings().as_kwargs()})
    assert s["status"] == "failed" and s["exit_code"] == 4
    assert "InvalidInputError" in s["reason"] and "broken.mp4" in s["reason"]
    assert not out.exists()
    assert json.dumps(s)  # small and serialisable
