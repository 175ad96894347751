"""medius batch interrupted (SIGINT) and run again: only the unfinished items run."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time

from medius.batch import Ledger
from test_batch_local import write_recording


def test_interrupt_then_rerun_runs_only_the_unfinished_items(tmp_path):
    data = tmp_path / "in"
    for i in range(5):
        write_recording(data / f"rec{i}", n_reps=3, fppa_right_deg=12.0 + i, fmt="trc", seed=i)
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from medius.cli import main; main()", "batch", str(data), "--out", str(out),
           "--workers", "1", "--fps", "30", "--image-size", "1080x1920", "--no-video"]
    # Ctrl-C's default action in the child, even when this test runs in a background job (a
    # non-interactive shell starts those with SIGINT ignored, and children inherit that)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    ledger = Ledger(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(r.get("event") == "item" for r in ledger.read()):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    first = [r["input"] for r in ledger.read() if r.get("event") == "item"]
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command again" in stderr
    assert 1 <= len(first) < 5

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{len(first)} of 5 items already done" in again.stderr, again.stderr
    records = [r for r in ledger.read() if r.get("event") == "item"]
    second = [r["input"] for r in records[len(first):]]
    assert sorted(first + second) == sorted(str(p / "clip_px.trc") for p in data.iterdir())  # each item exactly once
    assert {r["status"] for r in records} == {"ok"}
    assert not [p for p in (out / "items").iterdir() if p.name.startswith(".")]
    rows = list(csv.DictReader((out / "batch-items.csv").open()))
    assert sum(r["skipped"] == "True" for r in rows) == len(first)
