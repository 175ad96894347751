"""Throughput of ``medius batch`` against sequential single runs, and its scheduling overhead.

On the same inputs (short clips cut from the bundled Sports2D demo video, so pose inference
dominates), three timings, each on a fresh output folder:

1. **sequential**: ``analyze_path`` on each clip in turn in this process, exactly what
   ``medius analyze`` does per clip (minus the interpreter start-up of each command);
2. **batch, 1 worker** and 3. **batch, 2 workers**: ``run_batch`` on a local Dask cluster with one
   thread per worker process; the wall time includes starting and stopping the cluster and hashing
   the inputs.

The scaling ratio is throughput(2 workers) / throughput(1 worker); the target is >= 1.7 on 2
quiet cores. On a shared machine the ratio falls with whatever else runs. Scheduling overhead per
item is measured with tiny synthetic keypoint items: (batch wall - cluster start-up - sequential
wall) / items, with one worker. Nothing is downloaded; the process exits 0 (a miss prints MISS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from medius.analysis import AnalysisRequest
from medius.batch import BatchItem, ItemSettings, run_batch, usable_cores
from medius.io.keypoint_files import write_trc
from medius.io.samples import sample_path
from medius.io.video import VideoWriter, iter_frames
from medius.report.outputs import run_analysis
from medius.testing.synthetic import SyntheticRep, SyntheticSquats, make_single_leg_squats, write_marker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_video import back_and_forth  # noqa: E402

TARGET_SCALING = 1.7


def write_clips(folder: Path, *, n_clips: int, n_frames: int, width: int) -> list[Path]:
    """``n_clips`` H.264 MP4s of ``n_frames`` each, the sample ``width`` px wide, clip ``i`` from frame ``7 i``.

    The sample (230 frames) is decoded once, at that size, and played forwards then backwards,
    over and over, so a clip may be longer than it and the motion stays continuous.
    """
    frames = list(iter_frames(sample_path(), max_side_px=width))
    paths = []
    for c in range(n_clips):
        path = folder / f"clip{c}.mp4"
        h, w = frames[0].image.shape[:2]
        with VideoWriter(path, w, h, fps_hint=30.0, crf=20) as writer:
            for n in range(n_frames):
                writer.write(frames[back_and_forth(7 * c + n, len(frames))].image, n / 30.0)
        paths.append(path)
    return paths


def time_sequential(items: list[BatchItem], out: Path) -> float:
    t0 = time.perf_counter()
    for i, it in enumerate(items):
        run_analysis(AnalysisRequest(it.path, out_dir=out / f"{i}", **it.settings.as_kwargs()))
    return time.perf_counter() - t0


def time_batch(items: list[BatchItem], out: Path, n_workers: int) -> float:
    run = run_batch(items, out, n_workers=n_workers)
    bad = [o for o in run.outcomes if o.status == "failed"]
    if bad:
        raise SystemExit(f"bench: {len(bad)} items failed: {bad[0].reason}")
    return run.wall_s


def time_cluster_start() -> float:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.submit(len, "x", pure=False).result()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=6, help="video clips (default 6)")
    ap.add_argument("--frames", type=int, default=600,
                    help="frames per clip (default 600: 20 s at 30 fps, a five-reps-a-leg take)")
    ap.add_argument("--width", type=int, default=960, help="clip width in pixels (default 960)")
    ap.add_argument("--tiny", type=int, default=12, help="tiny synthetic items for the overhead (default 12)")
    ap.add_argument("--json", type=Path, default=Path("build/bench/bench-batch.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="medius-bench-batch-") as tmp:
        root = Path(tmp)
        settings = ItemSettings(annotated_video=False)
        clips = write_clips(root, n_clips=args.clips, n_frames=args.frames, width=args.width)
        items = [BatchItem(path=c, settings=settings, person_id=f"P{i}") for i, c in enumerate(clips)]
        print(f"bench_batch: {len(items)} clips of {args.frames} frames at {args.width} px wide, "
              f"{usable_cores()} cores (annotated video off)")
        seq = time_sequential(items, root / "seq")
        b1 = time_batch(items, root / "b1", 1)
        b2 = time_batch(items, root / "b2", 2)
        # scheduling overhead: tiny synthetic keypoint items
        tiny_settings = ItemSettings(fps=30.0, image_size=(1080, 1920), annotated_video=False)
        tiny = []
        for i in range(args.tiny):
            spec = SyntheticSquats(reps=(SyntheticRep("left"), SyntheticRep("right")), noise_px=1.0, seed=i)
            kp, gt = make_single_leg_squats(spec)
            (root / f"t{i}").mkdir()
            write_marker(root / f"t{i}", spec, gt)
            tiny.append(BatchItem(path=write_trc(kp, root / f"t{i}" / "t.trc"), settings=tiny_settings))
        tseq = time_sequential(tiny, root / "tseq")
        start = time_cluster_start()
        tb1 = time_batch(tiny, root / "tb1", 1)
    n = len(items)
    res = {
        "items": n,
        "frames_per_item": args.frames,
        "sequential_s": round(seq, 2),
        "batch_1_worker_s": round(b1, 2),
        "batch_2_workers_s": round(b2, 2),
        "throughput_items_per_min": {k: round(60 * n / v, 2) for k, v in
                                     (("sequential", seq), ("batch_1", b1), ("batch_2", b2))},
        "scaling_2_over_1": round(b1 / b2, 2),
        # the same without the cluster's start-up (a fixed cost that a long batch amortises)
        "scaling_2_over_1_without_start_up": round((b1 - start) / (b2 - start), 2) if b2 > start else None,
        "speedup_2_workers_over_sequential": round(seq / b2, 2),
        "cluster_start_s": round(start, 2),
        "tiny_items": len(tiny),
        "tiny_sequential_s_per_item": round(tseq / len(tiny), 3),
        "overhead_s_per_item": round((tb1 - start - tseq) / len(tiny), 3),
        "cores": usable_cores(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"  sequential analyze : {seq:7.1f} s   {res['throughput_items_per_min']['sequential']:6.2f} items/min")
    print(f"  batch, 1 worker    : {b1:7.1f} s   {res['throughput_items_per_min']['batch_1']:6.2f} items/min")
    print(f"  batch, 2 workers   : {b2:7.1f} s   {res['throughput_items_per_min']['batch_2']:6.2f} items/min")
    verdict = "PASS" if res["scaling_2_over_1"] >= TARGET_SCALING else "MISS"
    print(f"  scaling 2 / 1 worker: {res['scaling_2_over_1']:.2f}x (target >= {TARGET_SCALING}) {verdict}")
    if res["scaling_2_over_1_without_start_up"] is not None:
        print(f"  scaling without the cluster start-up: {res['scaling_2_over_1_without_start_up']:.2f}x")
    print(f"  cluster start-up    : {start:.1f} s; scheduling overhead {res['overhead_s_per_item']:.3f} s/item "
          f"(tiny items, {res['tiny_sequential_s_per_item']:.2f} s of analysis each)")
    print(f"  load average (1 min): {res['load_average_1min']} on {res['cores']} cores")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
