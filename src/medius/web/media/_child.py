"""The analysis of one job, run in its own process so that a crash cannot take the app down.

``python -m medius.web.media._child SPEC_JSON`` reads the job's
:class:`~medius.analysis.AnalysisRequest` from the spec (:func:`medius.web.media.jobs.job_spec`:
the request's fields, plus ``log`` and ``timeout_s`` for the parent), runs it
(:func:`medius.report.outputs.run_analysis`) and writes one JSON object per line on standard output: ``{"event": "progress", "stage", "done",
"total"}`` while it works, then one ``{"event": "result", "status", "summary"}`` or
``{"event": "error", "message", "exit_code"}``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medius.analysis.request import AnalysisRequest

__all__ = ["TRANSPORT_KEYS", "request_of", "summarize_result"]

#: keys of a job spec that are for the parent process, not the analysis
TRANSPORT_KEYS = ("log", "timeout_s")


def summarize_result(result: dict[str, Any]) -> dict[str, Any]:
    """The part of ``result.json`` the app keeps in the database (lists, progress charts)."""
    quality = result.get("quality", {})
    return {
        "status": result.get("status"),
        "task": result.get("task"),
        "task_label": result.get("task_label"),
        "synthetic": bool(result.get("synthetic")),
        "reasons": list(quality.get("reasons", [])),
        "advice": list(quality.get("advice", [])),
        "warnings": list(quality.get("warnings", [])),
        "n_reps": len(result.get("reps", [])),
        "n_stances": len(result.get("stances", [])),
        "summary": result.get("summary", {}),
        "metrics": {
            k: {"label": v.get("label"), "unit_symbol": v.get("unit_symbol")}
            for k, v in result.get("metrics", {}).items()
        },
        "interpretation": [
            {
                **{k: i.get(k) for k in ("metric", "side", "value", "verdict", "provisional")},
                "measurement_error": {
                    k: (i.get("measurement_error") or {}).get(k) for k in ("sem", "mdc", "unit", "source")
                }
                if i.get("measurement_error")
                else None,
            }
            for i in result.get("interpretation", [])
        ],
    }


def request_of(spec: dict[str, Any]) -> AnalysisRequest:
    """The :class:`~medius.analysis.AnalysisRequest` a job spec holds (the output folder replaced)."""
    from medius.analysis.request import AnalysisRequest

    return AnalysisRequest.from_json({**{k: v for k, v in spec.items() if k not in TRANSPORT_KEYS}, "force": True})


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    from medius.errors import MediusError
    from medius.report.outputs import run_analysis

    last = [0.0]

    def progress(stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.25 or (total is not None and done >= total):
            last[0] = now
            _emit({"event": "progress", "stage": stage, "done": int(done), "total": total})

    try:
        outcome = run_analysis(request_of(spec), progress=progress)
    except MediusError as exc:
        _emit({"event": "error", "message": exc.message, "exit_code": exc.exit_code})
        return exc.exit_code
    _emit(
        {
            "event": "result",
            "status": "done" if outcome.judgeable else "not_judgeable",
            "summary": summarize_result(outcome.result),
        }
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main(sys.argv[1:]))
