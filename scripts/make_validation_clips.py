"""Render the short validation clips that `make test` scores (tests/data/validation/), with their truth.

    .venv/bin/python scripts/make_validation_clips.py

Each clip is a scenario of the quick grid (docs/validation.md) rendered at crf 23 to keep the
repository small; the walking clip also gets its skeleton written as a Plug-in Gait marker trial
(trial.c3d, 100 Hz, starting 0.5 s into the video) for the paired video + marker test.
"""

from __future__ import annotations

import json
from pathlib import Path

from medius.validation.harness import _skeleton, build_movement, prepare_scenario
from medius.validation.paired import markers_from_movement
from medius.validation.render import renderer
from medius.validation.scenarios import quick_grid

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "validation"
PAIRED_START_S = 0.5


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in quick_grid() if s.name in ("quick-sls-front", "quick-walk-back")]
    with renderer() as new_page:
        for s in chosen:
            folder = OUT / s.name
            folder.mkdir(exist_ok=True)
            for f in ("video.mp4", "truth.json"):
                (folder / f).unlink(missing_ok=True)
            prepare_scenario(s, OUT, new_page, crf=23, folder=folder)
            if s.is_gait:
                sk = _skeleton(s.body)
                markers_from_movement(build_movement(s, sk), sk, folder / "trial.c3d", start_s=PAIRED_START_S)
                (folder / "paired.json").write_text(json.dumps({"trial_starts_in_video_s": PAIRED_START_S}))
            print(folder, sorted(p.name for p in folder.iterdir()))


if __name__ == "__main__":
    main()
