"""How far two cores can scale the analysis without Dask: the ceiling of the batch's scaling ratio.

On one 20 s clip (as ``bench_batch.py`` makes them), two measurements, each first alone and then
as two plain processes started together:

1. **bare inference**: ``bench_video.time_bare_inference`` over the clip's frames held in memory
   (no decoding), the fastest of 3 passes;
2. **analysis**: ``bench_video.time_analysis`` of the clip (no annotated video), after one warm-up
   analysis, the mean of 2 analyses, with the CPU time each took.

Scaling = 2 x (time alone) / (mean time of the two side by side). Bare inference shows whether the
machine's two cores are real (about 2.0); the analysis shows what the work beside the model (its
decoding and census threads) leaves: the most a 2-worker batch can reach, Dask or not. For the
analysis it also prints the bound that no scheduling can beat: an analysis alone uses more than one
core (its side threads run beside the model), so two at once on two cores take at least
2 x CPU / 2 = CPU seconds each, and the scaling is at most 2 x wall / CPU of the analysis alone.
Prints one line per measurement and exits 0. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_batch import write_clips  # noqa: E402
from bench_video import time_analysis, time_bare_inference  # noqa: E402


def child_bare(clip: str) -> dict[str, float]:
    from medius.io.video import iter_frames

    frames = list(iter_frames(Path(clip), max_side_px=1280))
    time_bare_inference(frames[:10])  # model load, warm-up
    return {"wall_s": min(time_bare_inference(frames).wall_s for _ in range(3))}


def child_analysis(clip: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="medius-ceiling-") as tmp:
        time_analysis(Path(clip), Path(tmp) / "warm", annotated_video=False)
        runs = [time_analysis(Path(clip), Path(tmp) / f"r{r}", annotated_video=False) for r in range(2)]
    return {"wall_s": sum(r.wall_s for r in runs) / 2, "cpu_s": sum(r.cpu_s for r in runs) / 2}


def run_children(kind: str, clip: Path, n: int) -> list[dict[str, float]]:
    procs = [subprocess.Popen([sys.executable, __file__, "--child", kind, str(clip)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(n)]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"bench_batch_ceiling: a {kind} process failed (exit {p.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=600, help="frames of the clip (default 600: 20 s)")
    ap.add_argument("--width", type=int, default=960, help="clip width in pixels (default 960)")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "CLIP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, clip = args.child
        print(json.dumps(child_bare(clip) if kind == "bare" else child_analysis(clip)))
        return
    with tempfile.TemporaryDirectory(prefix="medius-bench-ceiling-") as tmp:
        (clip,) = write_clips(Path(tmp), n_clips=1, n_frames=args.frames, width=args.width)
        print(f"bench_batch_ceiling: one clip of {args.frames} frames at {args.width} px, plain processes")
        for kind in ("bare", "analysis"):
            alone = run_children(kind, clip, 1)[0]
            pair = run_children(kind, clip, 2)
            mean_pair = sum(p["wall_s"] for p in pair) / 2
            extra = f", {alone['cpu_s']:.1f} s CPU ({alone['cpu_s'] / alone['wall_s']:.2f} cores)" if "cpu_s" in alone else ""
            print(f"  {kind:8s}: alone {alone['wall_s']:.1f} s{extra}; two at once "
                  f"{' and '.join(format(p['wall_s'], '.1f') for p in pair)} s; scaling {2 * alone['wall_s'] / mean_pair:.2f}x")
            if "cpu_s" in alone:
                bound = 2 * alone["wall_s"] / alone["cpu_s"]
                print(f"  {'':8s}  CPU-bound limit on 2 cores: 2 x wall / CPU alone = {bound:.2f}x "
                      f"(the pair reached {2 * alone['wall_s'] / mean_pair / bound:.0%} of it)")


if __name__ == "__main__":
    main()
