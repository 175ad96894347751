"""medius.batch without a cluster: manifests, item keys, the ledger, tidy rows, cohort memory."""

from __future__ import annotations

import csv
import json
import os
import pickle
import tracemalloc
from pathlib import Path

import pytest

from medius.batch import (
    BatchItem,
    ItemOutcome,
    ItemSettings,
    Ledger,
    ManifestError,
    analyze_item,
    compute_input_sha256,
    compute_item_key,
    discover_items,
    item_folder_name,
    item_folder_names,
    iter_result_rows,
    looks_like_marker_table,
    read_manifest,
    run_batch,
    task_names,
    usable_cores,
    write_cohort_outputs,
)
from medius.batch._runner import UnexpectedItemError
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
        "a.trc,,P4,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match=r"5 problems in the manifest") as info:
        read_manifest(tmp_path / "m.csv", ItemSettings())
    problems = info.value.problems
    assert problems[0].startswith("m.csv, row 2, column 'task': unknown task 'jumping'; allowed: ")
    assert problems[1].startswith("m.csv, row 3, column 'path': no such file or folder")
    assert problems[2] == "m.csv, row 4, column 'side': must be one of auto, left, right, got 'middle'"
    assert problems[3].startswith("m.csv, row 4, column 'fps': must be a number")
    assert problems[4] == "m.csv, row 6, column 'path': same input, settings and person id as row 5"
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


# ------------------------------------------------------------------ items that share a key (fix 1)
def test_manifest_takes_one_input_for_two_people_but_not_twice_for_one(tmp_path):
    _touch(tmp_path / "a.trc")
    (tmp_path / "m.csv").write_text("path,person_id\na.trc,P1\na.trc,P2\n", encoding="utf-8")
    a, b = read_manifest(tmp_path / "m.csv", ItemSettings())
    assert (a.path, a.settings) == (b.path, b.settings) and (a.person_id, b.person_id) == ("P1", "P2")
    (tmp_path / "d.csv").write_text("path,person_id\na.trc,P1\na.trc,P1\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"row 3, column 'path': same input, settings and person id as row 2"):
        read_manifest(tmp_path / "d.csv", ItemSettings())


def test_item_folder_names_are_distinct_and_independent_of_order(tmp_path):
    s = ItemSettings()
    x = BatchItem(path=tmp_path / "x" / "clip.mp4", settings=s)
    y = BatchItem(path=tmp_path / "y" / "clip.mp4", settings=s)  # a copy of x: the same key
    p1 = BatchItem(path=tmp_path / "x" / "clip.mp4", settings=s, person_id="P1")
    other = BatchItem(path=tmp_path / "z.mp4", settings=s)
    key, key2 = "ab" * 32, "cd" * 32
    names = item_folder_names([x, y, p1, other], [key, key, key, key2])
    assert len(set(names)) == 4
    assert names[2:] == ["P1-abababab", "z-cdcdcdcd"]  # no clash: the plain name
    assert names[0].startswith("clip-abababab-") and names[1].startswith("clip-abababab-")
    assert item_folder_names([y, other, x], [key, key2, key]) == [names[1], names[3], names[0]]
    assert item_folder_names([x, x], [key, key])[1].endswith("-2")  # the very same item twice (API use)
    assert item_folder_names([x, y], ["", key]) == ["", "clip-abababab"]  # unreadable input: no key


def test_ledger_keeps_one_record_per_item_when_items_share_a_key(tmp_path):
    led = Ledger(tmp_path)
    for folder in ("items/P1-k", "items/P2-k"):
        _touch(tmp_path / folder / "result.json", b"{}")
        led.append({"event": "item", "key": "k", "status": "ok", "out_dir": folder, "input": "/d/a.trc"})
    assert sorted(led.done_items()) == [("k", "items/P1-k"), ("k", "items/P2-k")]
    assert list(led.done()) == ["k"]  # by key alone, one of them would be lost


# --------------------------------------------------------------- folder discovery (fixes 2 and 3)
def test_discover_items_takes_the_person_from_the_sub_folder(tmp_path):
    _touch(tmp_path / "person01" / "slsq.mp4")
    _touch(tmp_path / "person01" / "visit2" / "slsq.mp4")
    _touch(tmp_path / "person02" / "slsq.mp4")
    _touch(tmp_path / "person02" / "keypoints" / "f_000_keypoints.json", b"{}")
    _touch(tmp_path / "loose.mp4")
    _touch(tmp_path / "recording" / "f_000_keypoints.json", b"{}")
    found = [(str(i.path.relative_to(tmp_path.absolute())), i.person_id) for i in discover_items(tmp_path, ItemSettings())]
    assert found == [
        ("loose.mp4", ""),  # directly in the folder: no person id (named after the file)
        ("person01/slsq.mp4", "person01"),
        ("person01/visit2/slsq.mp4", "person01"),
        ("person02/keypoints", "person02"),
        ("person02/slsq.mp4", "person02"),
        ("recording", ""),  # an OpenPose JSON folder directly in the folder is one recording
    ]


def _marker_table(path: Path, *, time_column: bool = True, units_row: bool = False) -> Path:
    from medius.testing.synthetic_gait import GaitSpec, make_gait_trial

    trial, _ = make_gait_trial(GaitSpec(task="walk", duration_s=4.0, medial_markers=True))
    if units_row:  # two header rows and a units row, comma-separated (Vicon Nexus export)
        lead = ["Frame"] if not time_column else ["Frame", "Time"]
        head = [",".join(lead + [c for lab in trial.labels for c in (lab, "", "")]),
                ",".join([""] * len(lead) + ["X", "Y", "Z"] * len(trial.labels)),
                ",".join([""] * len(lead) + ["mm"] * 3 * len(trial.labels))]
        rows = [",".join([str(k + 1)] + ([f"{t:.5f}"] if time_column else [])
                         + [f"{v:.4f}" for v in (trial.position[k] * 1000.0).ravel()])
                for k, t in enumerate(trial.time_s)]
        text = "\n".join(head + rows)
    else:
        head = (["Time"] if time_column else []) + [f"{lab}_{a}" for lab in trial.labels for a in "XYZ"]
        rows = ["\t".join(([f"{t:.5f}"] if time_column else []) + [f"{v:.4f}" for v in (trial.position[k] * 1000.0).ravel()])
                for k, t in enumerate(trial.time_s)]
        text = "\t".join(head) + "\n" + "\n".join(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_discover_items_takes_marker_tables_but_not_manifests_or_other_tables(tmp_path):
    tsv = _marker_table(tmp_path / "lab" / "walk.tsv")
    nexus = _marker_table(tmp_path / "lab" / "nexus.csv", units_row=True)
    _touch(tmp_path / "manifest.csv", b"path,task,person_id,sex\nlab/walk.tsv,walk,P1,female\n")
    _touch(tmp_path / "notes.txt", b"filmed on 3 March; pain 4/10\n")
    _touch(tmp_path / "scores.csv", b"person,LEFS,Kujala\nP1,60,72\n")
    _touch(tmp_path / "lab" / "xyz.txt", b"x\ty\tz\n1\t2\t3\n")  # three numbers, no marker names
    assert looks_like_marker_table(tsv) and looks_like_marker_table(nexus)
    for name in ("manifest.csv", "notes.txt", "scores.csv", "lab/xyz.txt"):
        assert not looks_like_marker_table(tmp_path / name), name
    items = discover_items(tmp_path, ItemSettings(task="walk"))
    assert [(i.path.name, i.person_id) for i in items] == [("nexus.csv", "lab"), ("walk.tsv", "lab")]


def test_discover_items_never_searches_the_batch_output_folder(tmp_path):
    _touch(tmp_path / "a.mp4")
    _touch(tmp_path / "out" / "items" / "a-12345678" / "result.json", b"{}")  # looks like a JSON folder
    _touch(tmp_path / "out" / "batch-items.csv", b"person_id,group\n")
    assert [i.path.name for i in discover_items(tmp_path, ItemSettings(), exclude=tmp_path / "out")] == ["a.mp4"]


# ------------------------------------------------------------ marker table options per item (fix 4)
def test_manifest_marker_units_and_rate_are_item_settings_and_part_of_the_key(tmp_path):
    t = _marker_table(tmp_path / "walk.tsv", time_column=False)
    (tmp_path / "m.csv").write_text(
        "path,task,person_id,Marker Units,marker_rate\n"
        "walk.tsv,walk,P1,MM,100\n"
        "walk.tsv,walk,P2,,\n", encoding="utf-8")
    a, b = read_manifest(tmp_path / "m.csv", ItemSettings(options=(("marker_rate_hz", 50.0),)))
    assert (a.settings.as_kwargs()["marker_units"], a.settings.as_kwargs()["marker_rate_hz"]) == ("mm", 100.0)
    assert "marker_units" not in b.settings.as_kwargs() and b.settings.as_kwargs()["marker_rate_hz"] == 50.0
    assert a.extra == {} and b.extra == {}  # recognised, not carried through as extra columns
    h = compute_input_sha256(t)
    assert compute_item_key(h, a.settings) != compute_item_key(h, b.settings)
    same = read_manifest(tmp_path / "m.csv", ItemSettings(options=(("marker_rate_hz", 50.0),)))[0]
    assert compute_item_key(h, same.settings) == compute_item_key(h, a.settings)
    (tmp_path / "bad.csv").write_text("path,marker_units,marker_rate_hz\nwalk.tsv,cm,fast\n", encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path / "bad.csv", ItemSettings())
    assert info.value.problems == [
        "bad.csv, row 2, column 'marker_units': must be one of mm, m or empty, got 'cm'",
        "bad.csv, row 2, column 'marker_rate_hz': must be a number ≥ 0.1 (samples per second), got 'fast'",
    ]


def test_marker_units_and_rate_reach_the_analysis(tmp_path):
    t = _marker_table(tmp_path / "walk.tsv", time_column=False)
    (tmp_path / "m.csv").write_text("path,task,person_id,marker_units,marker_rate_hz\n"
                                    "walk.tsv,walk,P1,mm,100\nwalk.tsv,walk,P2,,\n", encoding="utf-8")
    a, b = read_manifest(tmp_path / "m.csv", ItemSettings(annotated_video=False))
    sa = analyze_item({"key": "a", "path": str(t), "out_dir": str(tmp_path / "a"), "settings": a.settings.as_kwargs()})
    sb = analyze_item({"key": "b", "path": str(t), "out_dir": str(tmp_path / "b"), "settings": b.settings.as_kwargs()})
    assert sa["status"] == "ok" and sa["n_stances"] > 0
    assert sb["status"] == "failed" and sb["exit_code"] == 4 and "walk.tsv" in sb["reason"]


# ------------------------------------------------------------------- local cluster size (fix 8)
def test_the_local_cluster_has_one_worker_per_core_this_process_may_use(monkeypatch, tmp_path):
    import distributed

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cores() == 3
    asked = {}

    class Stop(Exception):
        pass

    def fake_cluster(**kw):
        asked.update(kw)
        raise Stop

    monkeypatch.setattr(distributed, "LocalCluster", fake_cluster)
    with pytest.raises(Stop):
        run_batch([BatchItem(path=_touch(tmp_path / "a.trc"), settings=ItemSettings())], tmp_path / "out")
    assert asked["n_workers"] == 3 and asked["threads_per_worker"] == 1
    monkeypatch.delattr(os, "sched_getaffinity")
    assert usable_cores() == 64


# ----------------------------------------------------------------- cohort outputs stream (fix 7)
def _fake_results(root: Path, n_items: int, n_reps: int) -> list[ItemOutcome]:
    metrics = {"fppa_deg": {"label": "FPPA", "unit": "deg"}, "pelvic_drop_deg": {"label": "pelvic drop", "unit": "deg"}}
    outcomes = []
    for i in range(n_items):
        folder = root / "items" / f"i{i}"
        folder.mkdir(parents=True)
        reps = [{"rep": r + 1, "side": ("left", "right")[r % 2], "status": "complete", "start_s": r, "end_s": r + 0.9,
                 "metrics": {m: {"peak": 5.0 + (i * 7 + r * 3 + k) % 11} for k, m in enumerate(metrics)}}
                for r in range(n_reps)]
        (folder / "result.json").write_text(json.dumps({"metrics": metrics, "reps": reps}), encoding="utf-8")
        item = BatchItem(path=folder / "x.trc", settings=ItemSettings(), person_id="P", group=f"g{i % 2}")
        outcomes.append(ItemOutcome(item, f"k{i}", f"items/i{i}", "ok"))
    return outcomes


def test_cohort_outputs_grow_by_a_few_bytes_per_row_and_never_reread_the_table(tmp_path):
    """The tidy table is streamed out and not loaded back (a DataFrame of it costs ~90 B per row)."""
    peaks = {}
    for n in (8, 24):
        out = tmp_path / str(n)
        outcomes = _fake_results(out, n, 500)  # 1000 rows per item
        write_cohort_outputs(out, outcomes)  # imports and caches outside the measurement
        tracemalloc.start()
        try:
            written = write_cohort_outputs(out, outcomes)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert written["n_record_rows"] == n * 1000
        assert (out / "cohort-records.csv").read_text(encoding="utf-8").count("\n") == n * 1000 + 1
    per_row = (peaks[24] - peaks[8]) / (16 * 1000)
    assert per_row < 40, f"{per_row:.1f} bytes per tidy row"
    summary = next(csv.DictReader((tmp_path / "24" / "cohort-summary.csv").read_text(encoding="utf-8").splitlines()))
    assert int(summary["fppa_deg_left_n"]) == int(summary["fppa_deg_right_n"]) == 24 * 250
    html = (tmp_path / "24" / "cohort-report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "random sample where a box has more than 400" in html


def test_a_bug_in_the_analysis_leaves_the_worker_as_one_small_exception(monkeypatch, tmp_path):
    """Raised again (so Dask retries it) without the original traceback or context: a deep one, a
    RecursionError's, does not survive the trip to the driver and left the batch waiting for ever."""
    import medius.report.outputs as outputs

    def deep(n):
        return deep(n + 1)

    monkeypatch.setattr(outputs, "run_analysis", lambda request, **kw: deep(0))
    f = _touch(tmp_path / "a.trc")
    with pytest.raises(UnexpectedItemError) as info:
        analyze_item({"key": "k", "path": str(f), "out_dir": str(tmp_path / "o"), "settings": ItemSettings().as_kwargs()})
    exc = info.value
    assert exc.__context__ is None and exc.__cause__ is None
    assert str(exc).startswith("RecursionError: maximum recursion depth exceeded (at test_batch_units.py:")
    assert str(exc).endswith(" in deep)")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is UnexpectedItemError and str(again) == str(exc)


def test_an_unreadable_input_fails_before_any_work_and_counts_as_an_item_to_analyse(tmp_path):
    started, seen = [], []
    item = BatchItem(path=tmp_path / "gone.mp4", settings=ItemSettings(), person_id="P1")
    run = run_batch([item], tmp_path / "out", on_start=lambda n, k: started.append((n, k)), on_item=seen.append)
    assert started == [(1, 0)] and run.n_workers == 0  # no cluster was started
    assert [(o.status, o.exit_code) for o in seen] == [("failed", 3)]
    assert "InputNotFoundError" in seen[0].reason and "gone.mp4" in seen[0].reason


def test_local_cluster_workers_keep_glibc_adaptive_mmap_but_dask_thread_caps(tmp_path):
    """Dask's MALLOC_TRIM_THRESHOLD_ (which made every decoded frame a fresh mmap, items 20 %
    slower) is not set in the local cluster's workers; its OpenMP/MKL/OpenBLAS caps still are."""
    import dask
    import distributed

    from medius.batch._runner import _local_cluster_config, _start_client

    config = _local_cluster_config(3)
    assert "MALLOC_TRIM_THRESHOLD_" not in config["distributed.nanny.pre-spawn-environ"]
    assert distributed.__version__  # the defaults the config copies are loaded
    with dask.config.set(config):
        client, cluster, n = _start_client(None, 1)
        try:
            env = client.run(lambda: {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
        finally:
            client.close()
            cluster.close()
    assert n == 1
    (worker_env,) = env.values()
    assert worker_env == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
