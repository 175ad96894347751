"""Batch items: what to analyse, with which settings, and the key that names the work.

An item is one input (a video, an OpenPose JSON folder, a TRC or C3D file) plus the analysis
settings that ``medius analyze`` takes, plus who it belongs to (person id, group, extra manifest
columns carried through to the cohort tables). Its key is the SHA-256 of the input's content, the
canonical JSON of the settings and the medius version: the same key means the same result.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medius import __version__
from medius.errors import InputNotFoundError, InvalidInputError

__all__ = [
    "MANIFEST_COLUMNS",
    "OPTION_COLUMNS",
    "SIDES",
    "SEXES",
    "BatchItem",
    "ItemSettings",
    "ManifestError",
    "compute_input_sha256",
    "compute_item_key",
    "discover_items",
    "read_manifest",
    "task_names",
]

#: recognised manifest columns (after normalisation: lower case, spaces and hyphens → ``_``);
#: every other column is carried through to the cohort tables untouched
MANIFEST_COLUMNS = ("path", "task", "person_id", "side", "group", "sex", "fps", "image_size")
#: further ``analyze_path`` options a manifest may set per row (used when the installed
#: ``analyze_path`` accepts them): camera view, gait event method, marker set, static trial file
OPTION_COLUMNS = ("view", "events", "marker_set", "static")
SIDES = ("auto", "left", "right")
SEXES = ("female", "male")
#: inputs found in a folder besides videos and OpenPose JSON sub-folders
_FILE_SUFFIXES = (".trc", ".c3d")
#: a file beside a keypoint input that changes its analysis (medius.io.synthetic.SYNTHETIC_MARKER)
_SIDECARS = ("medius-synthetic.json",)


def task_names() -> tuple[str, ...]:
    """The tasks the installed medius can analyse (read from :data:`medius.protocols.TASKS`)."""
    from medius.protocols import TASKS

    return tuple(TASKS)


class ManifestError(InvalidInputError):
    """A manifest with bad rows; ``problems`` holds one line per problem (file, row, column, what)."""

    def __init__(self, problems: list[str], *, path: str | Path) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} in the manifest:\n  " + "\n  ".join(self.problems), path=path
        )


@dataclass(frozen=True)
class ItemSettings:
    """The analysis settings of one item, exactly the options of ``medius analyze``."""

    task: str = "single-leg-squat"
    side: str = "auto"
    sex: str | None = None
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    blur_faces: bool = True
    annotated_video: bool = True
    max_side_px: int = 1280
    #: further ``analyze_path`` keyword options, as sorted (name, value) pairs (see OPTION_COLUMNS)
    options: tuple[tuple[str, str], ...] = ()

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`medius.report.pipeline.analyze_path`."""
        return {
            "task": self.task,
            "side": self.side,
            "sex": self.sex,
            "fps": self.fps,
            "image_size": self.image_size,
            "blur_faces": self.blur_faces,
            "annotated_video": self.annotated_video,
            "max_side_px": self.max_side_px,
            **dict(self.options),
        }

    def canonical_json(self) -> str:
        """Settings as canonical JSON (sorted keys, no spaces): part of the item key."""
        d = self.as_kwargs()
        d["image_size"] = list(self.image_size) if self.image_size else None
        d["fps"] = None if self.fps is None else float(self.fps)
        return json.dumps(d, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch.

    Attributes
    ----------
    path
        the input (absolute).
    settings
        the analysis settings.
    person_id
        who was filmed ('' when unknown; the input's stem names the output folder then).
    group
        the cohort group ('' when none).
    extra
        other manifest columns, carried through to the cohort tables.
    row
        the manifest row number (1 = header) or ``None`` for a folder input.
    """

    path: Path
    settings: ItemSettings
    person_id: str = ""
    group: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    row: int | None = None

    @property
    def label(self) -> str:
        """A short name for messages: the person id, else the input name."""
        return self.person_id or self.path.name


def compute_input_sha256(path: str | Path) -> str:
    """SHA-256 of everything the analysis of ``path`` reads.

    A file: its bytes (and a ``medius-synthetic.json`` beside it, which labels the result). A
    folder: the names and bytes of its visible files, in name order.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError("no such file or folder", path=path)
    h = hashlib.sha256()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    else:
        files = [path] + [path.parent / s for s in _SIDECARS if (path.parent / s).is_file()]
    try:
        for f in files:
            h.update(f.name.encode() + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
    except OSError as exc:
        raise InputNotFoundError(f"cannot be read ({exc.strerror or exc})", path=path) from None
    return h.hexdigest()


def accepted_options() -> tuple[str, ...]:
    """The :data:`OPTION_COLUMNS` that the installed ``analyze_path`` accepts."""
    import inspect

    from medius.report.pipeline import analyze_path

    params = inspect.signature(analyze_path).parameters
    return tuple(c for c in OPTION_COLUMNS if c in params)


def compute_item_key(input_sha256: str, settings: ItemSettings, *, version: str = __version__) -> str:
    """The item key: SHA-256 of the input content hash, the canonical settings and the medius version.

    A ``static`` option (a static trial file) enters with the hash of its content, not its name.
    """
    static = dict(settings.options).get("static")
    if static:
        input_sha256 = hashlib.sha256(f"{input_sha256}+{compute_input_sha256(static)}".encode()).hexdigest()
    doc = f'{{"input":"{input_sha256}","medius":{json.dumps(version)},"settings":{settings.canonical_json()}}}'
    return hashlib.sha256(doc.encode()).hexdigest()


def _is_keypoint_folder(p: Path) -> bool:
    return any(f.name not in _SIDECARS for f in p.glob("*.json"))


def _find_inputs(folder: Path) -> list[Path]:
    from medius.report.pipeline import VIDEO_SUFFIXES

    found: list[Path] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            found += [p] if _is_keypoint_folder(p) else _find_inputs(p)
        elif p.suffix.lower() in VIDEO_SUFFIXES + _FILE_SUFFIXES:
            found.append(p)
    return found


def discover_items(folder: str | Path, settings: ItemSettings) -> list[BatchItem]:
    """Every input under ``folder``, in path order: videos, TRC/C3D files, and OpenPose JSON folders.

    A sub-folder that holds OpenPose JSON files is one input; any other sub-folder is searched in
    turn (so one folder per person works). The person id is left empty (the output folder is named
    after the input's stem).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError("no such folder", path=folder)
    if _is_keypoint_folder(folder):
        raise InvalidInputError(
            "is an OpenPose JSON folder (one recording): use `medius analyze` for it, or put each "
            "recording in a sub-folder of the batch folder",
            path=folder,
        )
    items = [BatchItem(path=p.absolute(), settings=settings) for p in _find_inputs(folder)]
    if not items:
        raise InvalidInputError(
            "holds no inputs (videos, .trc/.c3d files, or sub-folders of OpenPose JSON files)", path=folder
        )
    return items


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def read_manifest(path: str | Path, defaults: ItemSettings) -> list[BatchItem]:
    """Read a manifest CSV into items, checking every row.

    Columns (header row, any order, case-insensitive): ``path`` (required; relative paths are
    relative to the manifest's folder), ``task``, ``person_id``, ``side`` (``auto``/``left``/
    ``right``: the stance leg filmed, as ``medius analyze --side``), ``group``, ``sex``, ``fps``,
    ``image_size`` (``WIDTHxHEIGHT``), and those of :data:`OPTION_COLUMNS` that the installed
    analysis accepts (``view``, ``events``, ``marker_set``, ``static``). Empty cells take the value of ``defaults``. Any other column is
    carried through to the cohort tables.

    Raises
    ------
    ManifestError
        listing every problem, one line each: file, row number, column, what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError("no such manifest file", path=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot be read as a UTF-8 CSV manifest ({exc})", path=path) from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not any(c.strip() for c in rows[0]):
        raise ManifestError([f"{path.name}, row 1: the header row is missing (needs at least a 'path' column)"],
                            path=path)
    header = [_norm(c) for c in rows[0]]
    problems: list[str] = []
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        problems.append(f"{path.name}, row 1: column(s) {', '.join(dup)} appear more than once")
    if "path" not in header:
        problems.append(f"{path.name}, row 1, column 'path': missing (the header is {', '.join(rows[0])})")
    if problems:
        raise ManifestError(problems, path=path)
    tasks = task_names()
    accepted = accepted_options()
    items: list[BatchItem] = []
    seen: dict[tuple[Path, str], int] = {}
    for rownum, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) > len(header):
            problems.append(f"{path.name}, row {rownum}: {len(raw)} cells but the header has {len(header)} columns")
            continue
        cells = {h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(header)}
        n_before = len(problems)

        def bad(col: str, what: str, rownum: int = rownum) -> None:
            problems.append(f"{path.name}, row {rownum}, column '{col}': {what}")

        p = cells["path"]
        item_path = None
        if not p:
            bad("path", "empty")
        else:
            item_path = Path(p).expanduser()
            if not item_path.is_absolute():
                item_path = path.parent / item_path
            item_path = item_path.absolute()
            if not item_path.exists():
                bad("path", f"no such file or folder: {item_path}")
        task = cells.get("task") or defaults.task
        if task not in tasks:
            bad("task", f"unknown task {task!r}; allowed: {', '.join(tasks)}")
        side = (cells.get("side") or defaults.side).lower()
        if side not in SIDES:
            bad("side", f"must be one of {', '.join(SIDES)}, got {side!r}")
        sex = (cells.get("sex") or "").lower() or defaults.sex
        if sex is not None and sex not in SEXES:
            bad("sex", f"must be one of {', '.join(SEXES)} or empty, got {sex!r}")
        fps = defaults.fps
        if cells.get("fps"):
            try:
                fps = float(cells["fps"])
                if not fps >= 0.1:
                    raise ValueError
            except ValueError:
                bad("fps", f"must be a number ≥ 0.1 (frames per second), got {cells['fps']!r}")
        size = defaults.image_size
        if cells.get("image_size"):
            try:
                w, h = (int(v) for v in cells["image_size"].lower().split("x"))
                if w <= 0 or h <= 0:
                    raise ValueError
                size = (w, h)
            except ValueError:
                bad("image_size", f"must be WIDTHxHEIGHT in pixels such as 1080x1920, got {cells['image_size']!r}")
        options = dict(defaults.options)
        for col in OPTION_COLUMNS:
            if not cells.get(col):
                continue
            if col not in accepted:
                bad(col, "this medius cannot use this column yet (its analysis has no such option)")
                continue
            value = cells[col]
            if col == "static":
                sp = Path(value).expanduser()
                sp = (sp if sp.is_absolute() else path.parent / sp).absolute()
                if not sp.is_file():
                    bad(col, f"no such file: {sp}")
                value = str(sp)
            options[col] = value
        if len(problems) > n_before or item_path is None:
            continue
        settings = ItemSettings(
            task=task, side=side, sex=sex, fps=fps, image_size=size, blur_faces=defaults.blur_faces,
            annotated_video=defaults.annotated_video, max_side_px=defaults.max_side_px,
            options=tuple(sorted(options.items())),
        )
        ident = (item_path, settings.canonical_json())
        if ident in seen:
            bad("path", f"same input and settings as row {seen[ident]}")
            continue
        seen[ident] = rownum
        extra = {h: v for h, v in cells.items() if h not in MANIFEST_COLUMNS + OPTION_COLUMNS}
        items.append(BatchItem(path=item_path, settings=settings, person_id=cells.get("person_id", ""),
                               group=cells.get("group", ""), extra=extra, row=rownum))
    if problems:
        raise ManifestError(problems, path=path)
    if not items:
        raise ManifestError([f"{path.name}: no rows after the header"], path=path)
    return items
