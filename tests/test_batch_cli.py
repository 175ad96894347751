"""`medius batch` as a user runs it: usage errors, --strict, progress, the summary tables, an item
whose worker dies on every attempt and one whose analysis hits a bug (bounded, recorded, never a
hang)."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medius.batch import Ledger
from test_batch_local import write_recording

BATCH_OPTS = ("--workers", "1", "--fps", "30", "--image-size", "1080x1920", "--no-video")
#: a worker preload (Dask config, here from the environment): the worker process analysing an input
#: named dies.trc kills itself (the attempts are counted), one named recurses.trc hits a
#: RecursionError (a bug whose traceback is too deep to travel: it used to hang the batch)
KILLER = '''
import os, signal
from pathlib import Path
import medius.report.outputs as outputs

_real = getattr(outputs, "_real_run_analysis", outputs.run_analysis)  # the preload may run twice
outputs._real_run_analysis = _real


def _deep(n):
    return _deep(n + 1)


def run_analysis(request, **kw):
    if request.input.name == "dies.trc":
        with open({counter!r}, "a") as fh:
            fh.write(f"{{os.getpid()}}\\n")
        os.kill(os.getpid(), signal.SIGKILL)
    if request.input.name == "recurses.trc":
        _deep(0)
    return _real(request, **kw)


outputs.run_analysis = run_analysis
'''


def medius(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real console entry point, in a subprocess (a hang fails the test at ``timeout``)."""
    base = {k: v for k, v in os.environ.items() if k != "MEDIUS_PROGRESS"}
    try:
        return subprocess.run([sys.executable, "-c", "from medius.cli import main; main()", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout,
                              env={**base, "MEDIUS_DEBUG": "", **(env or {})})
    except subprocess.TimeoutExpired as exc:
        said = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f"medius batch did not finish in {timeout} s; its standard error so far:\n{said}")


def one_line_usage_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("medius: error: "), proc.stderr
    return lines[0]


def test_scheduler_with_workers_is_a_one_line_usage_error(tmp_path):
    write_recording(tmp_path / "in" / "p1", n_reps=1, fppa_right_deg=12.0, fmt="trc")
    out = tmp_path / "out"
    line = one_line_usage_error(medius("batch", tmp_path / "in", "--out", out, "--scheduler", "tcp://127.0.0.1:9",
                                       "--workers", "2"))
    assert "--workers cannot be used with --scheduler" in line
    line = one_line_usage_error(medius("batch", tmp_path / "in", "--out", out, "--marker-units", "cm"))
    assert "--marker-units" in line and "'cm'" in line
    assert not out.exists()


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A folder of four items: a corrupt video, a good recording, one whose worker always dies, and
    one whose analysis always raises a RecursionError."""
    root = tmp_path_factory.mktemp("strict")
    data = root / "in"
    write_recording(data / "person01", n_reps=2, fppa_right_deg=15.0, fmt="trc")
    dies = write_recording(data / "person02", n_reps=2, fppa_right_deg=11.0, fmt="trc", seed=1)
    dies.rename(dies.with_name("dies.trc"))
    bug = write_recording(data / "person03", n_reps=2, fppa_right_deg=13.0, fmt="trc", seed=2)
    bug.rename(bug.with_name("recurses.trc"))
    (data / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    counter = root / "attempts.txt"
    preload = root / "medius_test_killer.py"
    preload.write_text(KILLER.format(counter=str(counter)), encoding="utf-8")
    out = root / "out"
    proc = medius("batch", data, "--out", out, "--strict", *BATCH_OPTS,
                  env={"DASK_DISTRIBUTED__WORKER__PRELOAD": repr([str(preload)])})
    return {"root": root, "data": data, "out": out, "proc": proc, "counter": counter}


def test_strict_exits_7_when_an_item_failed_and_lists_the_failures(strict):
    proc = strict["proc"]
    assert proc.returncode == 7, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for name in ("failed items", "broken.mp4", "person02", "person03"):  # the failed items' labels
        assert name in proc.stdout, proc.stdout
    rows = {Path(r["input"]).name: r for r in csv.DictReader((strict["out"] / "batch-items.csv").open())}
    assert {k: (r["person_id"], r["status"]) for k, r in rows.items()} == {
        "broken.mp4": ("", "failed"), "clip_px.trc": ("person01", "ok"), "dies.trc": ("person02", "failed"),
        "recurses.trc": ("person03", "failed")}
    assert "InvalidInputError" in rows["broken.mp4"]["reason"] and "broken.mp4" in rows["broken.mp4"]["reason"]
    assert re.fullmatch(r"the analysis raised an unexpected error 2 times \(a bug in medius\): RecursionError: "
                        r"maximum recursion depth exceeded \(at medius_test_killer\.py:\d+ in _deep\)",
                        rows["recurses.trc"]["reason"]), rows["recurses.trc"]["reason"]


def test_a_worker_that_dies_every_time_fails_its_item_after_bounded_attempts(strict):
    attempts = strict["counter"].read_text().splitlines()
    assert len(attempts) == 4 and len(set(attempts)) == 4  # 3 allowed failures + 1, each a new worker process
    rec = next(r for r in Ledger(strict["out"]).read() if r.get("event") == "item" and r["person_id"] == "person02")
    assert rec["status"] == "failed"
    assert re.fullmatch(r"the worker running it died 4 times \(a crash, out of memory or killed; last on "
                        r"tcp://127\.0\.0\.1:\d+\): not tried again", rec["reason"]), rec["reason"]
    assert not [p for p in (strict["out"] / "items").iterdir() if p.name.startswith(".")]


def test_progress_lines_give_items_failures_and_eta(strict):
    lines = [ln for ln in strict["proc"].stderr.splitlines() if ln.startswith("[")]
    got = [re.match(r"\[(\d)/4 items, (\d) failed, ETA (\d+:\d\d:\d\d)\] (ok|failed): (\S+) \((\S+)\)", ln)
           for ln in lines]
    assert all(got) and len(got) == 4, lines
    assert [m[1] for m in got] == ["1", "2", "3", "4"]
    assert [m[2] for m in got] == [str(sum(g[4] == "failed" for g in got[:k + 1])) for k in range(4)]
    assert sorted((m[4], m[6]) for m in got) == [
        ("failed", "broken.mp4"), ("failed", "dies.trc"), ("failed", "recurses.trc"), ("ok", "clip_px.trc")]
    assert got[-1][3] == "0:00:00"


def test_cohort_summary_parquet_is_written_and_matches_the_csv(strict):
    import pandas as pd

    out = strict["out"]
    table = pd.read_parquet(out / "cohort-summary.parquet")
    rows = list(csv.DictReader((out / "cohort-summary.csv").open()))
    assert list(table["person_id"]) == [r["person_id"] for r in rows] == [
        "broken.mp4", "person01", "person02", "person03"]
    assert list(table["n_failed"]) == [1, 0, 1, 1] and list(table["n_ok"]) == [0, 1, 0, 0]
    p1 = table.set_index("person_id").loc["person01"]
    assert p1["fppa_deg_right_n"] == 2 and float(rows[1]["fppa_deg_right_mean"]) == p1["fppa_deg_right_mean"]
    assert len(pd.read_parquet(out / "cohort-records.parquet")) == len(list(
        csv.DictReader((out / "cohort-records.csv").open()))) > 0


def test_rerun_without_strict_exits_0_and_shows_the_progress_bar(strict, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(strict["out"], out)
    proc = medius("batch", strict["data"], "--out", out, *BATCH_OPTS, env={"MEDIUS_PROGRESS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "1 of 4 items already done" in proc.stderr
    bar = [ln for ln in proc.stderr.splitlines() if ln.startswith("medius batch") and "items ·" in ln]
    assert bar and re.search(r"3/3 items · 1 failed · ETA \d+:\d\d:\d\d", bar[-1]), proc.stderr
    # the failed items ran again: the corrupt video fails again, the others (no preload now) are ok
    rows = {Path(r["input"]).name: r["status"] for r in csv.DictReader((out / "batch-items.csv").open())}
    assert rows == {"broken.mp4": "failed", "clip_px.trc": "ok", "dies.trc": "ok", "recurses.trc": "ok"}


def test_the_local_cluster_keeps_its_worker_through_repeated_crashes(tmp_path):
    """Dask closes a lost worker's nanny for good when no worker of that name is back
    `lost-worker-timeout` after the loss. Here it is 1 s, shorter than a restart, so without the
    batch's own setting the only worker would be closed after the first crash and the batch would
    wait for ever; with it, the crashing item fails and the next one is analysed."""
    import threading

    import dask
    import distributed  # noqa: F401 - loaded before the config set (see run_batch)

    from medius.batch import BatchItem, run_batch
    from test_batch_local import SETTINGS

    good = write_recording(tmp_path / "in" / "p1", n_reps=2, fppa_right_deg=15.0, fmt="trc")
    dies = write_recording(tmp_path / "in" / "p2", n_reps=2, fppa_right_deg=11.0, fmt="trc", seed=1)
    dies = dies.rename(dies.with_name("dies.trc"))
    preload = tmp_path / "medius_test_killer.py"
    preload.write_text(KILLER.format(counter=str(tmp_path / "attempts.txt")), encoding="utf-8")
    items = [BatchItem(path=dies, settings=SETTINGS, person_id="P2"),
             BatchItem(path=good, settings=SETTINGS, person_id="P1")]
    result: dict = {}

    def run() -> None:
        with dask.config.set({"distributed.worker.preload": [str(preload)],
                              "distributed.deploy.lost-worker-timeout": "1s"}):
            result["run"] = run_batch(items, tmp_path / "out", n_workers=1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=180)
    assert not thread.is_alive(), "the batch hung: the local cluster lost its only worker"
    assert [o.status for o in result["run"].outcomes] == ["failed", "ok"]
    assert result["run"].outcomes[0].reason.startswith("the worker running it died 4 times")
