"""``medius validate``: the rendered validation grid, or a paired video + marker trial."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from medius._cli_common import console, err
from medius._cli_common import guarded as _guarded
from medius.errors import InvalidInputError

__all__ = ["register", "validate"]

DEFAULT_CACHE = Path(".cache/validation")


def _load_scenarios(path: Path) -> list[Any]:
    from medius.validation.scenarios import scenario_from_dict

    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        from medius.errors import InputNotFoundError

        raise InputNotFoundError("scenario file not found", path=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInputError(f"not a JSON list of scenarios ({type(exc).__name__})", path=path) from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InvalidInputError("must hold a JSON list of scenario objects", path=path)
    try:
        return [scenario_from_dict(d) for d in data]
    except TypeError as exc:
        raise InvalidInputError(f"bad scenario: {exc}", path=path) from None


@_guarded
def validate(
    quick: Annotated[bool, typer.Option("--quick", help="Three short scenarios (under 3 minutes on 2 cores).")] = False,
    scenario: Annotated[list[str] | None, typer.Option("--scenario", help="Run only the named grid scenario(s).")] = None,
    scenarios_file: Annotated[Path | None, typer.Option("--scenarios", help="A JSON list of scenarios to run.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for validation.html/.json/.csv.")] = Path("validation-output"),
    cache: Annotated[Path, typer.Option("--cache", help="Renders and analyses, reused between runs.")] = DEFAULT_CACHE,
    no_render: Annotated[bool, typer.Option("--no-render", help="Use only videos already rendered in the cache.")] = False,
    video: Annotated[Path | None, typer.Option("--video", help="Paired mode: a video filmed during a marker trial.")] = None,
    markers: Annotated[Path | None, typer.Option("--markers", help="Paired mode: the marker trial (C3D, TRC).")] = None,
    static: Annotated[Path | None, typer.Option("--static", help="Paired mode: the static calibration trial.")] = None,
    marker_set: Annotated[str, typer.Option("--marker-set", help="Paired mode: plug-in-gait or a YAML.")] = "plug-in-gait",
    task: Annotated[str, typer.Option("--task", help="Paired mode: walk or run.")] = "walk",
    view: Annotated[str, typer.Option("--view", help="Paired mode: where the camera stood (auto, back, front).")] = "auto",
    write_measured_error: Annotated[bool, typer.Option(
        "--write-measured-error", help="Store the measured errors in the registry (make validate does).")] = False,
    write_docs: Annotated[Path | None, typer.Option(
        "--write-docs", help="Write the headline figures into this Markdown file's validation section.")] = None,
) -> None:
    """Measure how far medius' video metrics are from the truth.

    Without --video: render CC0 humans with known joint centres (three.js in headless chromium),
    analyse each video as `medius analyze` does, and score every rep and stance against the truth
    (bias, MAE, 95 % limits of agreement, reps found, legs, refusals, calibration of the shown error).
    With --video and --markers: synchronise a video with the marker trial filmed at the same time
    and score the video against the trial's frontal projection.

    Exit codes: 0 report written, 2 usage, 3 input not found, 4 invalid input (bad scenario values,
    unreadable files), 8 no chromium to render with.
    """
    from medius.validation.report import write_validation_outputs

    if (video is None) != (markers is None):
        raise InvalidInputError("paired mode needs both --video and --markers")
    if video is not None and markers is not None:
        from medius.validation.paired import validate_pair

        doc = validate_pair(video, markers, out=out, static=static, marker_set=marker_set, task=task, view=view)
        console.print(f"Offset (video time = marker time + offset): {doc['sync']['offset_s']:+.4f} s "
                      f"(pelvis correlation {doc['sync']['correlation']}; {doc['sync']['matched']} foot strikes "
                      "matched)", markup=False, highlight=False)
        console.print(f"Report: {out / 'validation.html'}", markup=False, highlight=False)
        return

    from medius.validation.harness import analysis_code_hash, run_scenarios
    from medius.validation.scenarios import full_grid, quick_grid

    if scenarios_file is not None:
        chosen = _load_scenarios(scenarios_file)
    else:
        chosen = quick_grid() if quick else full_grid()
        if scenario:
            pool = {s.name: s for s in full_grid() + quick_grid()}
            unknown = [n for n in scenario if n not in pool]
            if unknown:
                raise InvalidInputError(f"unknown scenario(s) {', '.join(unknown)}; see docs/validation.md for names")
            chosen = [pool[n] for n in scenario]
    t0 = time.monotonic()

    def say(msg: str) -> None:
        err.print(f"{msg}  ({time.monotonic() - t0:.0f} s)", markup=False, highlight=False)

    rows = run_scenarios(chosen, cache, render=not no_render, progress=say)
    doc = write_validation_outputs(out, rows, {
        "code_hash": analysis_code_hash(),
        "grid": "quick" if quick else ("custom" if (scenario or scenarios_file) else "full"),
        "scenarios": [s.as_dict() for s in chosen],
        "elapsed_s": round(time.monotonic() - t0, 1),
    })
    if write_measured_error:
        _write_measured_error(rows, len(chosen))
    if write_docs is not None:
        from medius.validation.report import markdown_summary, write_markdown_into

        write_markdown_into(write_docs, "validation-current", markdown_summary(doc, title="Current pipeline"))
    for t in doc["targets"]:
        console.print(f"{'PASS' if t['pass'] else 'MISS'}  {t['task']:<17} {t['metric']:<30} {t['what']}: "
                      f"{t['value']} (limit {t['limit']})", markup=False, highlight=False)
    console.print(f"Report: {out / 'validation.html'}", markup=False, highlight=False)


def _write_measured_error(rows: list[dict[str, Any]], n_scenarios: int) -> None:
    from datetime import UTC, datetime

    from medius import __version__
    from medius.registry.measured import MEASURED_ERRORS_PATH
    from medius.validation.calibration import fit_entries
    from medius.validation.harness import analysis_code_hash

    doc = {
        "what": "medius' own measurement error of its video metrics, by task, metric, statistic and filming "
        "condition; written by `make validate`, do not edit",
        "medius_version": __version__,
        "code_hash": analysis_code_hash(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "grid_scenarios": n_scenarios,
        "method": "scenario blocks: per condition level with at least 5 scenarios (3 for the task kind), the "
        "smallest q with P(|mu + s T| <= q) >= 95 %, T Student's t (scenarios - 1 dof), mu the mean of the "
        "scenario means, s^2 = tau^2 (1 + 1/scenarios) + sigma^2 (tau: SD of the scenario means, at least that of "
        "the bodies' means; sigma: within-scenario SD); a level with fewer scenarios only where it "
        "widens the coarser level's q (medius.validation.calibration; docs/validation.md)",
        "entries": fit_entries(rows),
        # what this code gives on the committed short clips: the test that the figures above are
        # current compares a fresh analysis of the clips with these values
        "reference_clips": _reference_clip_values(),
    }
    n_entries = len(doc["entries"])  # type: ignore[arg-type]
    MEASURED_ERRORS_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = MEASURED_ERRORS_PATH.with_name(".video_errors.json.partial")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    tmp.replace(MEASURED_ERRORS_PATH)
    console.print(f"Measured errors: {MEASURED_ERRORS_PATH} ({n_entries} entries)", markup=False,
                  highlight=False)


REFERENCE_CLIPS = Path(__file__).resolve().parents[3] / "tests" / "data" / "validation"


def clip_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-unit values that identify what the analysis code gives on a clip."""
    out = []
    for r in rows:
        vals = {k: m["value"] for k, m in sorted(r["metrics"].items())}
        out.append({"scenario": r["scenario"], "side": r["side"], "time_s": r["time_s"], "found": r["found"],
                    "judged": r["judged"], "values": vals})
    return out


def _reference_clip_values() -> list[dict[str, Any]]:
    import shutil
    import tempfile

    from medius.validation.harness import analyse_scenario, score_scenario
    from medius.validation.scenarios import quick_grid

    out: list[dict[str, Any]] = []
    for s in quick_grid():
        src = REFERENCE_CLIPS / s.name
        if not (src / "video.mp4").is_file():
            continue
        tmp = Path(tempfile.mkdtemp(prefix=".medius-clip-"))
        try:
            for f in ("video.mp4", "truth.json"):
                shutil.copy(src / f, tmp / f)
            truth = json.loads((src / "truth.json").read_text())
            out += clip_values(score_scenario(s, truth, analyse_scenario(s, tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def register(app: typer.Typer) -> None:
    app.command(name="validate")(validate)
