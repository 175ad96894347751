"""medius batch on a cluster of separate ``dask scheduler`` / ``dask worker`` processes on loopback,
with one worker killed while it analyses an item."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medius.analysis import AnalysisRequest
from medius.batch import ItemSettings, Ledger
from medius.report.outputs import run_analysis
from test_batch_local import assert_same_outputs, write_recording

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=log, stderr=log, env=env)]
    workers = [subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                                 "--no-dashboard", "--host", "127.0.0.1"], stdout=log, stderr=log, env=env)
               for _ in range(2)]
    procs += workers
    from distributed import Client

    client = None
    try:  # the processes are stopped even when the client cannot be made
        client = Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=90)
        yield address, client, workers
    finally:
        if client is not None:
            client.close()
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_batch_on_separate_processes_survives_a_killed_worker(cluster, tmp_path):
    address, client, workers = cluster
    data = tmp_path / "data"
    paths = [write_recording(data / f"p{i}", n_reps=5, fppa_right_deg=12.0 + i, fmt="trc", seed=i)
             for i in range(4)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,person_id,group\n" + "".join(f"{p},P{i},g{i % 2}\n" for i, p in enumerate(paths)),
                        encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from medius.cli import main; main()", "batch", str(manifest), "--out", str(out),
           "--scheduler", address, "--fps", "30", "--image-size", "1080x1920", "--retries", "0",
           "--no-video"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until a worker is analysing an item (its temporary output folder exists), then kill it
    by_pid = {w.pid: w for w in workers}
    pid_of = client.run(os.getpid)  # worker address -> process id
    victim = None
    deadline = time.monotonic() + 90
    while victim is None and time.monotonic() < deadline and proc.poll() is None:
        busy = [a for a, keys in client.processing().items() if keys]
        partial = list((out / "items").glob(".*.partial")) if (out / "items").is_dir() else []
        if busy and partial:
            pid = pid_of.get(busy[0])
            if pid in by_pid:  # only ever a process this test started
                victim = by_pid[pid]
                victim.send_signal(signal.SIGKILL)
                break
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=240)
    assert victim is not None, "no worker was seen mid-item"
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert proc.returncode == 0, stderr
    records = [r for r in Ledger(out).read() if r.get("event") == "item"]
    assert sorted(r["person_id"] for r in records) == ["P0", "P1", "P2", "P3"]  # each done exactly once
    assert {r["status"] for r in records} == {"ok"}
    assert not [p for p in (out / "items").iterdir() if p.name.startswith(".")]
    # the cluster result is the single-run result
    rec = records[0]
    single = tmp_path / "single"
    run_analysis(AnalysisRequest(rec["input"], out_dir=single, **ItemSettings(fps=30.0, image_size=(1080, 1920),
                                                                annotated_video=False).as_kwargs()))
    got = out / rec["out_dir"]
    assert_same_outputs(got, single)  # every file, report.html included, apart from the creation time
    assert "ok" in stdout and json.loads((got / "result.json").read_text())["status"] == "ok"
