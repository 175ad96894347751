"""Batch items: what to analyse, with which settings, and the key that names the work.

An item is one input (a video, an OpenPose JSON folder, a TRC or C3D file, a marker table) plus
the analysis settings that ``medius analyze`` takes, plus who it belongs to (person id, group, extra
manifest columns carried through to the cohort tables). Its key is the SHA-256 of the input's
content, the canonical JSON of the settings and the medius version: the same key means the same
analysis (the result also names the input file, so the batch matches the file name too when it
resumes; see :mod:`medius.batch._runner`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medius import __version__
from medius.analysis.request import SEXES, SIDES
from medius.errors import InputNotFoundError, InvalidInputError
from medius.io._metadata import INPUT_METADATA_FILE
from medius.io.markers import MARKER_UNIT_CHOICES

if TYPE_CHECKING:
    from medius.analysis.request import AnalysisRequest

__all__ = [
    "MANIFEST_COLUMNS",
    "MARKER_UNITS",
    "OPTION_COLUMNS",
    "SIDES",
    "SEXES",
    "BatchItem",
    "ItemSettings",
    "ManifestError",
    "compute_input_sha256",
    "compute_item_key",
    "discover_items",
    "looks_like_marker_table",
    "read_manifest",
    "task_names",
]

#: recognised manifest columns (after normalisation: lower case, spaces and hyphens → ``_``);
#: every other column is carried through to the cohort tables untouched
MANIFEST_COLUMNS = ("path", "task", "person_id", "side", "group", "sex", "fps", "image_size")
#: further :class:`~medius.analysis.AnalysisRequest` options a manifest may set per row (used when
#: the installed request has them): camera view, gait event method, marker set, static trial file,
#: for marker tables whose header does not state them the length unit and the sampling rate, the
#: flip test (``yes``/``no``) and the long side video frames are scaled to (``max_side_px``)
OPTION_COLUMNS = ("view", "events", "marker_set", "static", "marker_units", "marker_rate_hz", "flip_test",
                  "max_side_px")
#: how a manifest cell says yes or no (``flip_test``)
_YES, _NO = ("yes", "true", "1", "on"), ("no", "false", "0", "off")
#: other spellings of manifest columns (after normalisation), as the ``medius analyze`` options
_COLUMN_ALIASES = {"marker_rate": "marker_rate_hz"}
#: length units of ``--marker-units`` / the ``marker_units`` column (as ``medius analyze``)
MARKER_UNITS = MARKER_UNIT_CHOICES
#: inputs found in a folder besides videos and OpenPose JSON sub-folders
_FILE_SUFFIXES = (".trc", ".c3d")
#: text files found in a folder that are inputs only when their header is a marker table's
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
#: a file beside a keypoint input that changes its analysis (the input metadata, which labels a result synthetic)
_SIDECARS = (INPUT_METADATA_FILE,)


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
    """The analysis settings of one item, exactly the options of ``medius analyze``: everything of an
    :class:`~medius.analysis.AnalysisRequest` but the input and the output folder (:meth:`request`)."""

    task: str = "single-leg-squat"
    side: str = "auto"
    sex: str | None = None
    fps: float | None = None
    image_size: tuple[int, int] | None = None
    blur_faces: bool = True
    annotated_video: bool = True
    max_side_px: int = 1280
    #: further request options, as sorted (name, value) pairs (see OPTION_COLUMNS): strings, except
    #: ``marker_rate_hz`` (a float) and ``flip_test`` (a bool)
    options: tuple[tuple[str, Any], ...] = ()

    def as_kwargs(self) -> dict[str, Any]:
        """The :class:`~medius.analysis.AnalysisRequest` fields these settings set."""
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

    def request(self, path: str | Path, out_dir: str | Path) -> AnalysisRequest:
        """The request analysing ``path`` into ``out_dir`` with these settings (a batch replaces an
        item's output folder: ``force``)."""
        from medius.analysis.request import AnalysisRequest

        return AnalysisRequest(Path(path), out_dir=Path(out_dir), force=True, **self.as_kwargs())

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
                for block in iter(functools.partial(fh.read, 1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
    except OSError as exc:
        raise InputNotFoundError(f"cannot be read ({exc.strerror or exc})", path=path) from None
    return h.hexdigest()


def accepted_options() -> tuple[str, ...]:
    """The :data:`OPTION_COLUMNS` that the installed :class:`~medius.analysis.AnalysisRequest` has."""
    from medius.analysis.request import request_fields

    fields = request_fields()
    return tuple(c for c in OPTION_COLUMNS if c in fields)


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


_AXIS_CELL = re.compile(r"^(?P<name>.+?)[ _.:\-]?(?P<axis>[XYZxyz])$")
_LEADING_CELLS = {"frame", "frame#", "frames", "frame_index", "sample", "time", "time_s", "t", "time (s)",
                  "seconds"}


def looks_like_marker_table(path: str | Path) -> bool:
    """Whether a ``.csv``/``.tsv``/``.txt`` file's header is that of a marker table.

    The two header layouts :func:`medius.io.markers.read_marker_text` reads: after at most two
    ``Frame``/``Time`` cells, either one row of ``<marker>_X <marker>_Y <marker>_Z`` triples, or a
    row of marker names (each followed by two empty cells) over a row of ``X Y Z``. Only the first
    64 KiB are read. A manifest (``path,task,...``), notes or any other table is not a marker table;
    a file that passes this check but does not read is a failed item with the reader's reason.
    """
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return False
    lines = [ln for ln in head.splitlines() if ln.strip()][:2]
    if not lines:
        return False
    delim = "\t" if "\t" in lines[0] else ","
    row0 = [c.strip() for c in lines[0].split(delim)]
    first = 0
    while first < min(2, len(row0)) and row0[first].lower() in _LEADING_CELLS:
        first += 1
    rest = row0[first:]
    if not any(rest):
        return False
    # one header row: <marker>_X <marker>_Y <marker>_Z ...
    matches = [_AXIS_CELL.match(c) for c in rest]
    if len(rest) % 3 == 0 and all(matches):
        trios = [matches[j:j + 3] for j in range(0, len(rest), 3)]
        if all(len({m.group("name") for m in t if m}) == 1
               and "".join(m.group("axis").upper() for m in t if m) == "XYZ" for t in trios):
            return True
    # two header rows: names each followed by two empty cells, over X Y Z
    if len(lines) < 2:
        return False
    coords = [re.sub(r"\d+$", "", c.strip()).upper() for c in lines[1].split(delim)][first:]
    names = [j for j, c in enumerate(rest) if c]
    if not names or len(coords) < 3 * len(names):
        return False
    return all(j == 3 * k and coords[j:j + 3] == ["X", "Y", "Z"] for k, j in enumerate(names))


def _is_input_file(p: Path) -> bool:
    from medius.analysis.inputs import VIDEO_SUFFIXES

    suffix = p.suffix.lower()
    if suffix in VIDEO_SUFFIXES + _FILE_SUFFIXES:
        return True
    return suffix in _TABLE_SUFFIXES and looks_like_marker_table(p)


def _find_inputs(folder: Path, exclude: Path | None) -> list[Path]:
    found: list[Path] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or (exclude is not None and p.absolute() == exclude):
            continue
        if p.is_dir():
            found += [p] if _is_keypoint_folder(p) else _find_inputs(p, exclude)
        elif _is_input_file(p):
            found.append(p)
    return found


def discover_items(folder: str | Path, settings: ItemSettings, *, exclude: str | Path | None = None) -> list[BatchItem]:
    """Every input under ``folder``, in path order, and whose it is.

    Inputs are what ``medius analyze`` reads: videos, ``.trc``/``.c3d`` files, marker tables
    (``.csv``/``.tsv``/``.txt`` files whose header is a marker table's, see
    :func:`looks_like_marker_table`; any other such file, a manifest say, is not an input), and
    OpenPose JSON folders. A sub-folder that holds OpenPose JSON files is one input; any other
    sub-folder is searched in turn, and a sub-folder directly in ``folder`` that is searched names
    the person: ``folder/person01/slsq.mp4`` (and ``folder/person01/visit2/slsq.mp4``) get person
    id ``person01``. Inputs directly in ``folder`` (files and OpenPose JSON folders) get no person
    id: the output folder is named after the input's stem. ``exclude`` (the batch output folder,
    when it lies inside ``folder``) is never searched.
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
    skip = Path(exclude).absolute() if exclude is not None else None
    items: list[BatchItem] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or (skip is not None and p.absolute() == skip):
            continue
        if p.is_dir() and not _is_keypoint_folder(p):
            items += [BatchItem(path=q.absolute(), settings=settings, person_id=p.name)
                      for q in _find_inputs(p, skip)]
        elif p.is_dir() or _is_input_file(p):
            items.append(BatchItem(path=p.absolute(), settings=settings))
    if not items:
        raise InvalidInputError(
            "holds no inputs (videos, .trc/.c3d files, marker tables, or sub-folders of OpenPose JSON files)",
            path=folder,
        )
    return items


def _norm(name: str) -> str:
    n = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _COLUMN_ALIASES.get(n, n)


def read_manifest(path: str | Path, defaults: ItemSettings) -> list[BatchItem]:
    """Read a manifest CSV into items, checking every row.

    Columns (header row, any order, case-insensitive): ``path`` (required; relative paths are
    relative to the manifest's folder), ``task``, ``person_id``, ``side`` (``auto``/``left``/
    ``right``: the stance leg filmed, as ``medius analyze --side``), ``group``, ``sex``, ``fps``,
    ``image_size`` (``WIDTHxHEIGHT``), and those of :data:`OPTION_COLUMNS` that the installed
    analysis accepts (``view``, ``events``, ``marker_set``, ``static``, ``marker_units`` (``mm`` or
    ``m``), ``marker_rate_hz`` (also spelled ``marker_rate``; Hz, ≥ 0.1), ``flip_test`` (``yes``/``no``),
    ``max_side_px`` (px, ≥ 16)). Empty cells take the
    value of ``defaults``. Any other column is carried through to the cohort tables.

    The same input with the same settings may appear on several rows for different people (each
    row is an item of its own, with its own output folder); for the same person it is a problem.

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
    seen: dict[tuple[Path, str, str], int] = {}
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
            value: Any = cells[col]
            if col == "static":
                sp = Path(value).expanduser()
                sp = (sp if sp.is_absolute() else path.parent / sp).absolute()
                if not sp.is_file():
                    bad(col, f"no such file: {sp}")
                value = str(sp)
            elif col == "marker_units":
                value = value.lower()
                if value not in MARKER_UNITS:
                    bad(col, f"must be one of {', '.join(MARKER_UNITS)} or empty, got {cells[col]!r}")
            elif col == "flip_test":
                if value.lower() not in _YES + _NO:
                    bad(col, f"must be yes or no (or empty), got {cells[col]!r}")
                value = value.lower() in _YES
            elif col == "max_side_px":
                try:
                    value = int(value)
                    if value < 16:
                        raise ValueError
                except ValueError:
                    bad(col, f"must be a whole number of pixels ≥ 16, got {cells[col]!r}")
            elif col == "marker_rate_hz":
                try:
                    value = float(value)
                    if not value >= 0.1 or value == float("inf"):
                        raise ValueError
                except ValueError:
                    bad(col, f"must be a number ≥ 0.1 (samples per second), got {cells[col]!r}")
            options[col] = value
        if len(problems) > n_before or item_path is None:
            continue
        max_side = options.pop("max_side_px", defaults.max_side_px)  # a field of its own
        settings = ItemSettings(
            task=task, side=side, sex=sex, fps=fps, image_size=size, blur_faces=defaults.blur_faces,
            annotated_video=defaults.annotated_video, max_side_px=int(max_side),
            options=tuple(sorted(options.items())),
        )
        person_id = cells.get("person_id", "")
        ident = (item_path, settings.canonical_json(), person_id)
        if ident in seen:
            bad("path", f"same input, settings and person id as row {seen[ident]}")
            continue
        seen[ident] = rownum
        extra = {h: v for h, v in cells.items() if h not in MANIFEST_COLUMNS + OPTION_COLUMNS}
        items.append(BatchItem(path=item_path, settings=settings, person_id=person_id,
                               group=cells.get("group", ""), extra=extra, row=rownum))
    if problems:
        raise ManifestError(problems, path=path)
    if not items:
        raise ManifestError([f"{path.name}: no rows after the header"], path=path)
    return items
