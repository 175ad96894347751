"""medius batch on a local Dask cluster: same outputs as single runs (bit for bit, apart from the
creation time), failures per item, resume, items that share a key."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import pytest

from medius.analysis import AnalysisRequest
from medius.batch import (
    ItemSettings,
    Ledger,
    compute_input_sha256,
    compute_item_key,
    read_manifest,
    run_batch,
    write_cohort_outputs,
    write_items_table,
)
from medius.io.keypoint_files import write_openpose_json, write_trc
from medius.io.samples import sample_path
from medius.report.outputs import run_analysis
from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats, write_marker

SETTINGS = ItemSettings(fps=30.0, image_size=(1080, 1920), annotated_video=False)


def write_recording(folder: Path, *, n_reps: int, fppa_right_deg: float, fmt: str, seed: int = 0) -> Path:
    """A SYNTHETIC single-leg squat recording (keypoint files, no pose model needed)."""
    reps = [SyntheticRep("left", fppa_deg=7.0, pelvic_drop_deg=3.0)] * n_reps + [
        SyntheticRep("right", fppa_deg=fppa_right_deg, pelvic_drop_deg=6.0)] * n_reps
    spec = SyntheticSquats(reps=tuple(reps), noise_px=1.0, seed=seed)
    kp, gt = make_single_leg_squats(spec)
    folder.mkdir(parents=True, exist_ok=True)
    write_marker(folder, spec, gt)
    if fmt == "openpose":
        write_openpose_json(kp, folder, prefix="clip")
        return folder
    return write_trc(kp, folder / "clip_px.trc")


def write_clip(dst: Path, *, n_frames: int, width: int = 480) -> Path:
    """The first frames of the real sample video (Sports2D demo), downscaled, as H.264."""
    with av.open(str(sample_path())) as src, av.open(str(dst), "w") as out:
        st = out.add_stream("libx264", rate=30)
        st.pix_fmt = "yuv420p"
        st.options = {"crf": "20", "preset": "veryfast"}
        for n, fr in enumerate(src.decode(src.streams.video[0])):
            if n == n_frames:
                break
            if n == 0:
                st.width, st.height = width, int(round(fr.height * width / fr.width / 2)) * 2
            img = fr.reformat(width=st.width, height=st.height, format="yuv420p")
            img.pts, img.time_base = n, Fraction(1, 30)
            for p in st.encode(img):
                out.mux(p)
        for p in st.encode():
            out.mux(p)
    return dst


def comparable(result_json: Path) -> dict:
    """result.json without the only thing allowed to differ: the creation time."""
    d = json.loads(result_json.read_text())
    del d["provenance"]["created_utc"]
    return d


def comparable_report(folder: Path) -> str:
    """report.html with its one timestamp (result.json's creation time) masked."""
    created = json.loads((folder / "result.json").read_text())["provenance"]["created_utc"]
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert text.count(created) == 1
    return text.replace(created, "<created_utc>")


def assert_same_outputs(got: Path, single: Path) -> None:
    """Every file of ``got`` is the file of ``single``, byte for byte apart from the creation time."""
    assert sorted(p.name for p in got.iterdir()) == sorted(p.name for p in single.iterdir())
    for f in single.iterdir():
        if f.name == "result.json":
            assert comparable(got / f.name) == comparable(f)
        elif f.name == "report.html":
            assert comparable_report(got) == comparable_report(single)
        else:
            assert (got / f.name).read_bytes() == f.read_bytes(), f.name


def batch_items(manifest: Path) -> list:
    """The manifest's items; P4 (the real video) with its annotated video, as `medius analyze` writes."""
    return [dataclasses.replace(it, settings=dataclasses.replace(it.settings, annotated_video=True))
            if it.person_id == "P4" else it for it in read_manifest(manifest, SETTINGS)]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    data = root / "data"
    a = write_recording(data / "p1", n_reps=2, fppa_right_deg=15.0, fmt="openpose")
    b = write_recording(data / "p2", n_reps=3, fppa_right_deg=18.0, fmt="trc", seed=1)
    c = write_recording(data / "p3", n_reps=2, fppa_right_deg=12.0, fmt="trc", seed=2)
    clip = write_clip(data / "demo_clip.mp4", n_frames=20)
    (data / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    manifest = root / "manifest.csv"
    manifest.write_text(
        "path,task,person_id,side,group,site\n"
        f"{a},single-leg-squat,P1,,pfp,Oslo\n"
        f"{b},single-leg-squat,P2,,control,Oslo\n"
        f"{c},single-leg-squat,P3,,pfp,Bergen\n"
        f"{clip},single-leg-squat,P4,,control,Bergen\n"
        f"{data / 'broken.mp4'},single-leg-squat,P5,,pfp,Bergen\n",
        encoding="utf-8",
    )
    items = batch_items(manifest)
    out = root / "out"
    seen = []
    run = run_batch(items, out, n_workers=2, on_item=seen.append)
    written = write_cohort_outputs(out, run.outcomes)
    write_items_table(out, run.outcomes)
    return {"root": root, "items": items, "out": out, "run": run, "seen": seen, "written": written,
            "manifest": manifest}


def test_every_item_has_an_outcome_and_the_corrupt_one_failed_alone(batch):
    by_person = {o.item.person_id: o for o in batch["run"].outcomes}
    assert [by_person[p].status for p in ("P1", "P2", "P3")] == ["ok", "ok", "ok"]
    assert by_person["P4"].status == "not_judgeable"  # 20 frames: too few reps, a recorded outcome
    assert by_person["P5"].status == "failed"
    assert "InvalidInputError" in by_person["P5"].reason and "broken.mp4" in by_person["P5"].reason
    assert len(batch["seen"]) == 5
    assert not [p for p in (batch["out"] / "items").iterdir() if p.name.startswith(".")]
    rows = list(csv.DictReader((batch["out"] / "batch-items.csv").open()))
    assert [(r["person_id"], r["status"], r["site"]) for r in rows] == [
        ("P1", "ok", "Oslo"), ("P2", "ok", "Oslo"), ("P3", "ok", "Bergen"), ("P4", "not_judgeable", "Bergen"),
        ("P5", "failed", "Bergen")]


def test_batch_outputs_equal_single_runs(batch, tmp_path):
    """Every file, report.html and annotated.mp4 included, apart from the creation time.

    annotated.mp4 is bit-identical because the worker and this process see the same number of
    cores: x264 picks its thread count from them, and a different count gives other bytes (see
    docs/batch.md)."""
    compared = set()
    for o in batch["run"].outcomes:
        if not o.done:
            continue
        single = tmp_path / o.item.person_id
        oc = run_analysis(AnalysisRequest(o.item.path, out_dir=single, **o.item.settings.as_kwargs()))
        assert oc.exit_code == o.exit_code
        assert_same_outputs(batch["out"] / o.out_dir, single)
        compared |= {p.name for p in single.iterdir()}
    assert {"annotated.mp4", "report.html", "result.json", "reps.csv", "plot_timeseries.svg"} <= compared


def test_cohort_tables_hold_every_rep_and_a_row_per_person(batch):
    out = batch["out"]
    records = list(csv.DictReader((out / "cohort-records.csv").open()))
    n_expected = 0
    for o in batch["run"].outcomes:
        if o.status == "ok":
            r = json.loads((out / o.out_dir / "result.json").read_text())
            n_expected += sum(len(rep["metrics"]) for rep in r["reps"])
    assert len(records) == n_expected > 0
    assert {r["site"] for r in records} == {"Oslo", "Bergen"}
    first = records[0]
    # the headline value of a rep is the statistic the summary uses (at the deepest point, schema 2.0)
    assert (first["person_id"], first["record"], first["unit"], first["value_field"]) == ("P1", "rep", "deg", "at_bottom")
    summary = {r["person_id"]: r for r in csv.DictReader((out / "cohort-summary.csv").open())}
    assert sorted(summary) == ["P1", "P2", "P3", "P4", "P5"]
    p2 = json.loads((out / batch["run"].outcomes[1].out_dir / "result.json").read_text())["summary"]
    for side in ("left", "right"):
        assert float(summary["P2"][f"fppa_deg_{side}_mean"]) == p2[side]["fppa_deg"]["mean"]
        assert int(summary["P2"][f"fppa_deg_{side}_n"]) == p2[side]["fppa_deg"]["n"] == 3
    assert (summary["P5"]["n_failed"], summary["P4"]["n_not_judgeable"]) == ("1", "1")
    html = (out / "cohort-report.html").read_text()
    assert html.count("<svg") == 6 and "Herrington 2014" in html and "P5" in html
    if batch["written"]["parquet_note"]:
        assert "pyarrow" in batch["written"]["parquet_note"]
    else:
        import pandas as pd

        assert len(pd.read_parquet(out / "cohort-records.parquet")) == len(records)


def test_rerun_skips_done_items_and_redoes_changed_ones(batch, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(batch["out"], out)
    items = batch["items"]
    again = run_batch(items, out, n_workers=1)
    assert [o.skipped for o in again.outcomes] == [True, True, True, True, False]  # the failed one is retried
    assert again.outcomes[4].status == "failed"
    # change one input's content and another item's settings: only those two (and the failed one) run
    write_recording(items[1].path.parent, n_reps=3, fppa_right_deg=18.0, fmt="trc", seed=7)
    items = batch_items(batch["manifest"])
    items[2] = dataclasses.replace(items[2], settings=dataclasses.replace(SETTINGS, max_side_px=960))
    third = run_batch(items, out, n_workers=2)
    assert [o.skipped for o in third.outcomes] == [True, False, False, True, False]
    assert [o.status for o in third.outcomes] == ["ok", "ok", "ok", "not_judgeable", "failed"]
    assert third.outcomes[1].out_dir != batch["run"].outcomes[1].out_dir
    runs: dict[str, list[str]] = {}
    for rec in Ledger(out).read():
        if rec.get("event") == "item":
            runs.setdefault(rec["run_id"], []).append(rec["person_id"])
    assert [sorted(v) for v in runs.values()] == [["P1", "P2", "P3", "P4", "P5"], ["P5"], ["P2", "P3", "P5"]]


def test_items_that_share_a_key_are_each_analysed_into_their_own_folder(tmp_path):
    """One file listed for two people, and two copies of one file: four items with one key."""
    src = write_recording(tmp_path / "data" / "rec", n_reps=2, fppa_right_deg=14.0, fmt="trc", seed=3)
    copy = tmp_path / "data" / "copy"
    shutil.copytree(src.parent, copy)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,person_id\n{src},P1\n{src},P2\n{src},\n{copy / src.name},\n", encoding="utf-8")
    items = read_manifest(manifest, SETTINGS)
    assert len({compute_item_key(compute_input_sha256(i.path), i.settings) for i in items}) == 1
    out = tmp_path / "out"
    run = run_batch(items, out, n_workers=1)
    assert [o.status for o in run.outcomes] == ["ok"] * 4
    assert len({o.out_dir for o in run.outcomes}) == 4 and len({o.task for o in run.outcomes}) == 4
    first = comparable(out / run.outcomes[0].out_dir / "result.json")
    for o in run.outcomes[1:3]:
        assert comparable(out / o.out_dir / "result.json") == first
    # the copy's result names its own path (so items with one key are not given one shared result)
    text = json.dumps(comparable(out / run.outcomes[3].out_dir / "result.json"))
    assert str(copy) in text and json.loads(text.replace(str(copy), str(src.parent))) == first
    records = [r for r in Ledger(out).read() if r.get("event") == "item"]
    assert sorted((r["person_id"], r["out_dir"]) for r in records) == sorted(
        (o.item.person_id, o.out_dir) for o in run.outcomes)
    write_items_table(out, run.outcomes)
    rows = list(csv.DictReader((out / "batch-items.csv").open()))
    assert [(r["person_id"], r["status"], r["item_dir"]) for r in rows] == [
        (o.item.person_id, "ok", o.out_dir) for o in run.outcomes]
    again = run_batch(items, out, n_workers=1)
    assert [o.skipped for o in again.outcomes] == [True] * 4
    assert [o.out_dir for o in again.outcomes] == [o.out_dir for o in run.outcomes]


def test_a_batch_leaves_the_dask_configuration_of_the_process_whole(tmp_path):
    """The run's Dask settings are set around the cluster; leaving them must not drop Dask's own.

    In a fresh process where ``distributed`` is first imported inside the settings' context, the
    context's exit used to remove the whole ``distributed`` section, so the next batch (or any
    Dask client) in that process failed with ``KeyError: 'distributed'``.
    """
    import subprocess
    import sys

    rec = write_recording(tmp_path / "p1", n_reps=2, fppa_right_deg=15.0, fmt="trc")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from medius.batch import BatchItem, ItemSettings, run_batch\n"
        "s = ItemSettings(fps=30.0, image_size=(1080, 1920), annotated_video=False)\n"
        "items = [BatchItem(path=Path(sys.argv[1]), settings=s, person_id='P1')]\n"
        "run_batch(items, Path(sys.argv[2]), n_workers=1)\n"
        "import dask\n"
        "print(dask.config.get('distributed.comm.timeouts.connect'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(rec), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1]  # Dask's default connect timeout is still there
