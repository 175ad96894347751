"""Issue 17: every option of an analysis is spelled out once (AnalysisRequest), reachable from the
command line, the batch manifest and the web job, recorded as provenance; the output folder of one
analysis is written all at once (analyze -> publish)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer

from medius.analysis import AnalysisRequest, analyze, discard, publish, request_fields
from medius.errors import UsageError
from tests.conftest import five_and_five, write_synthetic


def _cli_options(command: str) -> set[str]:
    from medius.cli import app

    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    names: set[str] = set()
    for p in cmd.params:
        names.update(p.opts)
        if p.param_type_name == "argument":
            names.add(p.name.upper())
    return names


def test_every_request_field_is_an_option_of_medius_analyze():
    options = _cli_options("analyze")
    missing = {name: meta["cli"] for name, meta in request_fields().items() if meta["cli"] not in options}
    assert missing == {}


def test_every_request_field_is_a_batch_manifest_column_or_batch_option():
    from medius.batch._items import MANIFEST_COLUMNS, OPTION_COLUMNS, ItemSettings, accepted_options

    batch_options = _cli_options("batch")
    assert accepted_options() == OPTION_COLUMNS  # every option column is a request field
    unreachable = {}
    for name, meta in request_fields().items():
        where = meta["batch"]
        if where.startswith("(batch:"):  # the batch decides: the output folder, replacing it
            assert name in ("out_dir", "force")
            continue
        if where not in MANIFEST_COLUMNS + OPTION_COLUMNS and where not in batch_options:
            unreachable[name] = where
    assert unreachable == {}
    # the item settings carry every field but the input and the output folder, with the request's defaults
    settings_fields = {f.name for f in dataclasses.fields(ItemSettings)} - {"options"}
    assert settings_fields | set(OPTION_COLUMNS) | {"input", "out_dir", "force"} == set(request_fields())
    req = ItemSettings().request("in.trc", "out")
    assert req == AnalysisRequest(Path("in.trc"), out_dir=Path("out"), force=True)


def test_manifest_flip_test_and_max_side_columns_reach_the_request(tmp_path):
    from medius.batch._items import ItemSettings, read_manifest

    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "m.csv").write_text("path,flip_test,max_side_px\na.mp4,yes,640\na.mp4,,\n", encoding="utf-8")
    a, b = read_manifest(tmp_path / "m.csv", ItemSettings())
    ra, rb = a.settings.request(a.path, tmp_path / "o"), b.settings.request(b.path, tmp_path / "o")
    assert (ra.flip_test, ra.max_side_px) == (True, 640)
    assert (rb.flip_test, rb.max_side_px) == (False, 1280)
    assert b.settings.canonical_json() == ItemSettings().canonical_json()  # unset: the item key is as before
    (tmp_path / "bad.csv").write_text("path,flip_test,max_side_px\na.mp4,maybe,big\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        read_manifest(tmp_path / "bad.csv", ItemSettings())
    assert info.value.problems == [  # type: ignore[attr-defined]
        "bad.csv, row 2, column 'flip_test': must be yes or no (or empty), got 'maybe'",
        "bad.csv, row 2, column 'max_side_px': must be a whole number of pixels ≥ 16, got 'big'",
    ]


def test_the_web_job_passes_a_request(tmp_path):
    from medius.web.media._child import request_of
    from medius.web.media.jobs import job_spec

    (tmp_path / "rec-1").mkdir()
    (tmp_path / "rec-1" / "input.mp4").write_bytes(b"x")
    settings = SimpleNamespace(media_dir=tmp_path, max_side_px=960, job_timeout_s=600)
    recording = SimpleNamespace(id="rec-1", task="walk", side="auto")
    job = SimpleNamespace(options={"annotated_video": False, "blur_faces": True})
    spec = job_spec(settings, recording, job)  # type: ignore[arg-type]
    json.dumps(spec)  # travels to the child as JSON
    assert set(spec) == set(request_fields()) | {"log", "timeout_s"}
    assert request_of(json.loads(json.dumps(spec))) == AnalysisRequest(
        tmp_path / "rec-1" / "input.mp4", out_dir=tmp_path / "rec-1" / "result", task="walk", force=True,
        max_side_px=960, annotated_video=False,
    )
    with pytest.raises(UsageError, match="unknown analysis option"):
        request_of({**spec, "colour": "red"})


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"task": "moonwalk"}, "unknown task 'moonwalk'; allowed: auto, single-leg-squat"),
        ({"side": "middle"}, "unknown side 'middle' (--side); allowed: auto, left, right"),
        ({"events": "guess"}, "unknown event source 'guess' (--events)"),
        ({"view": "top"}, "unknown camera view 'top' (--view); allowed: auto, back, front"),
        ({"sex": "x"}, "unknown sex 'x' (--sex)"),
        ({"marker_units": "cm"}, "unknown marker units 'cm' (--marker-units); allowed: mm, m"),
        ({"fps": 0.0}, "fps must be a number ≥ 0.1, got 0.0"),
        ({"marker_rate_hz": -1.0}, "marker_rate_hz must be a number ≥ 0.1"),
        ({"max_side_px": 8}, "max_side_px (--max-side) must be a whole number of pixels ≥ 16, got 8"),
        ({"image_size": (0, 10)}, "--image-size must be WIDTHxHEIGHT"),
        ({"flip_test": "yes"}, "flip_test must be true or false, got 'yes'"),
    ],
)
def test_a_bad_option_is_one_usage_error_line(options, says):
    with pytest.raises(UsageError) as info:
        AnalysisRequest(Path("in.mp4"), **options)
    assert says in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_the_request_is_frozen_and_round_trips_through_json():
    req = AnalysisRequest("in.c3d", out_dir="o", task="walk", static="s.c3d", image_size=[4, 6])  # type: ignore[arg-type]
    assert isinstance(req.input, Path) and isinstance(req.static, Path) and req.image_size == (4, 6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.task = "run"  # type: ignore[misc]
    assert AnalysisRequest.from_json(json.loads(json.dumps(req.to_json()))) == req


def test_provenance_options_keep_the_result_json_keys():
    req = AnalysisRequest(Path("kp"), fps=30.0, image_size=(1080, 1920), static=None)
    assert req.provenance(lab=False) == {
        "side": "auto", "view": "auto", "blur_faces": True, "max_side_px": 1280, "fps": 30.0,
        "image_size": [1080, 1920], "sex": None, "flip_test": False,
    }
    assert req.provenance(lab=False, task_guessed="walk: steps")["task_guessed"] == "walk: steps"
    lab = AnalysisRequest(Path("t.c3d"), task="walk", static=Path("d/static.c3d"), marker_units="mm")
    assert lab.provenance(lab=True) == {
        "static": "static.c3d", "marker_set": "plug-in-gait", "events": "auto", "sex": None,
        "marker_units": "mm", "marker_rate_hz": None,
    }


def test_the_cli_builds_the_request_and_says_a_bad_value_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from medius.cli import app

    path, _ = write_synthetic(five_and_five(), tmp_path / "kp")
    res = CliRunner().invoke(app, ["analyze", str(path), "--marker-units", "cm", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "unknown marker units 'cm'" in res.output
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def keypoints(tmp_path_factory):
    path, _ = write_synthetic(five_and_five(), tmp_path_factory.mktemp("kp") / "kp")
    return path


def _request(keypoints: Path, out: Path) -> AnalysisRequest:
    return AnalysisRequest(keypoints, task="single-leg-squat", out_dir=out, fps=30.0, image_size=(1080, 1920),
                           annotated_video=False)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("failure", [RuntimeError("renderer bug"), KeyboardInterrupt()])
def test_a_failing_or_interrupted_render_leaves_nothing(keypoints, tmp_path, failure):
    """The workspace exists between analyze and publish; a renderer that fails (or Ctrl-C / SIGTERM,
    which the CLI raises as KeyboardInterrupt) removes it, and the output folder never appears."""
    out = tmp_path / "run" / "out"
    outcome = analyze(_request(keypoints, out))
    assert outcome.workspace is not None and outcome.workspace.is_dir() and not out.exists()

    def render(oc, folder):
        (folder / "result.json").write_text("{half")
        raise failure

    with pytest.raises(type(failure)):
        publish(outcome, render)
    assert _leftovers(tmp_path / "run") == [] and outcome.workspace is None


def test_publish_renames_the_rendered_workspace_into_place(keypoints, tmp_path):
    from medius.report.outputs import render_outputs

    out = tmp_path / "out"
    outcome = analyze(_request(keypoints, out))
    published = publish(outcome, render_outputs)
    assert published.judgeable and published.exit_code == 0
    assert _leftovers(tmp_path) == ["out"] and {"result.json", "reps.csv", "report.html"} <= set(_leftovers(out))
    assert json.loads((out / "result.json").read_text())["provenance"]["options"]["fps"] == 30.0
    with pytest.raises(ValueError, match="published or discarded"):
        publish(published, render_outputs)
    # an outcome the caller drops is discarded: nothing left either
    again = analyze(dataclasses.replace(_request(keypoints, tmp_path / "other"), force=True))
    discard(again)
    assert _leftovers(tmp_path) == ["out"]


def test_the_analysis_layer_never_imports_the_report():
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "medius" / "analysis"
    found = [
        f"{f.name}: {node.module}"
        for f in src.glob("*.py")
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("medius.report")
    ]
    assert found == []
