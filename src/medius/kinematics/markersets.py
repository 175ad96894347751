"""Marker sets: which lab marker plays which anatomical role, and cluster-based reconstruction.

A :class:`MarkerSet` maps the *roles* the lab model of :mod:`medius.kinematics.angles3d`
needs (``left_asis``, ``right_knee_lateral`` ...; :data:`ROLES`) onto the marker labels of a
trial. The built-in Vicon Plug-in Gait lower-body set is ``plug_in_gait.yaml`` next to this
module; any other naming is a user YAML file of the same form (``docs/lab-kinematics.md``)::

    name: my-lab
    markers:
      left_asis: L_ASIS
      right_asis: R_ASIS
      ...
      left_knee_medial: null     # not used

:meth:`MarkerSet.resolve` checks a set against a trial: a *required* role whose marker the
trial lacks (or never sees) is an :class:`~medius.errors.InvalidInputError` that names the
marker, its role and close matches among the trial's labels; an *optional* role whose marker
is missing is dropped and listed in ``MarkerSet.dropped``.

:func:`calibrate_clusters` reconstructs anatomical markers (medial knee and ankle markers of a
static trial, say) in a moving trial from clusters of technical markers, with the
least-squares rigid-body fit of Söderkvist and Wedin (1993).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from medius.errors import InputNotFoundError, InvalidInputError
from medius.io.markers import Markers3D
from medius.kinematics._validation import ParameterError, check_real

__all__ = [
    "BUILTIN_MARKER_SETS",
    "EVENT_ROLES",
    "OPTIONAL_ROLES",
    "REQUIRED_ROLES",
    "ROLES",
    "SUBJECT_YAML_KEYS",
    "MarkerSet",
    "calibrate_clusters",
    "fit_rigid_transform",
    "load_marker_set",
]

#: every role, with what the marker marks
ROLES: Mapping[str, str] = MappingProxyType(
    {
        "left_asis": "left anterior superior iliac spine",
        "right_asis": "right anterior superior iliac spine",
        "left_psis": "left posterior superior iliac spine (or use 'sacrum')",
        "right_psis": "right posterior superior iliac spine (or use 'sacrum')",
        "sacrum": "sacrum, midway between the PSIS (replaces the two PSIS markers)",
        "left_thigh": "left thigh (Plug-in Gait wand THI), for the knee-centre chord",
        "right_thigh": "right thigh (Plug-in Gait wand THI), for the knee-centre chord",
        "left_knee_lateral": "left lateral femoral epicondyle",
        "right_knee_lateral": "right lateral femoral epicondyle",
        "left_knee_medial": "left medial femoral epicondyle (optional)",
        "right_knee_medial": "right medial femoral epicondyle (optional)",
        "left_tibia": "left shank (Plug-in Gait wand TIB), for the ankle-centre chord",
        "right_tibia": "right shank (Plug-in Gait wand TIB), for the ankle-centre chord",
        "left_ankle_lateral": "left lateral malleolus",
        "right_ankle_lateral": "right lateral malleolus",
        "left_ankle_medial": "left medial malleolus (optional)",
        "right_ankle_medial": "right medial malleolus (optional)",
        "left_heel": "left heel (calcaneus)",
        "right_heel": "right heel (calcaneus)",
        "left_toe": "left toe (second metatarsal head)",
        "right_toe": "right toe (second metatarsal head)",
        "left_shoulder": "left shoulder (acromion; optional, for the trunk)",
        "right_shoulder": "right shoulder (acromion; optional, for the trunk)",
    }
)

#: roles a marker set must map and a trial must have (the pelvis also needs both PSIS or the sacrum)
REQUIRED_ROLES: tuple[str, ...] = (
    "left_asis",
    "right_asis",
    "left_knee_lateral",
    "right_knee_lateral",
    "left_ankle_lateral",
    "right_ankle_lateral",
    "left_heel",
    "right_heel",
    "left_toe",
    "right_toe",
)

#: required roles only the gait events (and the foot points of the frontal projection) use: the
#: angles are computed without them (the events then need force plates or the file's own events)
EVENT_ROLES: tuple[str, ...] = ("left_heel", "right_heel", "left_toe", "right_toe")

#: roles that may be absent (dropped by :meth:`MarkerSet.resolve` when the trial lacks them)
OPTIONAL_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r not in REQUIRED_ROLES)

_POSTERIOR = ("left_psis", "right_psis")

#: subject parameters a marker-set YAML may give under ``subject_parameters`` (millimetres), and
#: the :attr:`MarkerSet.subject` key (metres, as :data:`medius.io.markers.SUBJECT_PARAMETERS`)
SUBJECT_YAML_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "left_knee_width_mm": "left_knee_width_m",
        "right_knee_width_mm": "right_knee_width_m",
        "left_ankle_width_mm": "left_ankle_width_m",
        "right_ankle_width_mm": "right_ankle_width_m",
        "marker_diameter_mm": "marker_diameter_m",
    }
)

#: names of the marker sets shipped with medius (``load_marker_set(name)``)
BUILTIN_MARKER_SETS: Mapping[str, str] = MappingProxyType({"plug-in-gait": "plug_in_gait.yaml"})


def _source_path(trial: Markers3D) -> Path | None:
    p = Path(trial.source)
    return p if p.is_file() else None


def _close(label: str, labels: Sequence[str]) -> str:
    close = difflib.get_close_matches(label, list(labels), n=3, cutoff=0.5)
    return f"; close matches: {', '.join(repr(c) for c in close)}" if close else ""


# ---------------------------------------------------------------------------------------
# marker sets
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MarkerSet:
    """A mapping of model roles onto the marker labels of a trial.

    Attributes
    ----------
    name
        the set's name (``plug-in-gait-lower-body``, or the ``name`` of a user file).
    markers
        role -> marker label, for the roles the set uses (roles mapped to ``null`` in the
        YAML are left out).
    description
        free text from the YAML.
    source
        ``"built-in"`` or the YAML path.
    dropped
        after :meth:`resolve`: the optional roles whose marker the trial lacks, role -> label.
    clusters, anatomical
        the static calibration (YAML key ``static_calibration``): segment -> technical markers
        (a cluster of at least 3, which may include the virtual hip centres ``@left_hip_centre``
        / ``@right_hip_centre``), and segment -> anatomical markers present only in the static
        trial, carried into the moving trial by :func:`calibrate_clusters`. Empty when the set
        has no static calibration.
    subject
        subject parameters from the YAML's ``subject_parameters`` (knee and ankle widths, marker
        diameter; :data:`SUBJECT_YAML_KEYS`), in metres. Empty when the YAML gives none.
    """

    name: str
    markers: Mapping[str, str]
    description: str = ""
    source: str = "built-in"
    dropped: Mapping[str, str] = field(default_factory=dict)
    clusters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    anatomical: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subject: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [r for r in self.markers if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(map(repr, unknown))}; known: {', '.join(ROLES)}")
        object.__setattr__(self, "markers", MappingProxyType(dict(self.markers)))
        object.__setattr__(self, "dropped", MappingProxyType(dict(self.dropped)))
        object.__setattr__(self, "clusters", MappingProxyType({k: tuple(v) for k, v in self.clusters.items()}))
        object.__setattr__(
            self, "anatomical", MappingProxyType({k: tuple(v) for k, v in self.anatomical.items()})
        )
        object.__setattr__(self, "subject", MappingProxyType({k: float(v) for k, v in self.subject.items()}))

    @property
    def static_only(self) -> tuple[str, ...]:
        """The anatomical markers the static calibration carries into the moving trial."""
        return tuple(dict.fromkeys(x for v in self.anatomical.values() for x in v))

    def label(self, role: str) -> str | None:
        """The marker label of a role, or None if the set does not use it."""
        if role not in ROLES:
            raise KeyError(f"unknown role {role!r}{_close(role, list(ROLES))}")
        return self.markers.get(role)

    def has(self, role: str) -> bool:
        return self.label(role) is not None

    def xyz(self, trial: Markers3D, role: str) -> np.ndarray:
        """``(time, 3)`` positions of the marker playing ``role`` in ``trial``."""
        label = self.label(role)
        if label is None:
            raise KeyError(f"marker set {self.name!r} has no marker for role {role!r}")
        return trial.xyz(label)

    def resolve(self, trial: Markers3D, *, skip: Sequence[str] = (), optional: Sequence[str] = ()) -> MarkerSet:
        """Check the set against a trial and drop the optional roles the trial lacks.

        Parameters
        ----------
        trial
            the marker trajectories.
        skip
            roles not checked now and left out of the copy (the roles whose markers a static
            calibration will add to the trial: check them again afterwards).

        Returns
        -------
        MarkerSet
            a copy that maps only markers present in ``trial`` (present in at least one
            frame); the optional roles dropped are in ``dropped``. With both PSIS present the
            sacrum role is dropped if absent, and vice versa.

        Raises
        ------
        InvalidInputError
            a required role is not mapped, or its marker is not in the trial (or never
            present); the message names the marker, the role and close matches among the
            trial's labels. The pelvis needs both PSIS markers or the sacrum marker.
        """
        present = trial.present().any(axis=0)
        where = _source_path(trial)

        def ok(label: str) -> bool:
            return trial.has(label) and bool(present[trial.index(label)])

        def fail(role: str, label: str) -> InvalidInputError:
            why = "is in the trial but never present" if trial.has(label) else "is not in the trial"
            src = "" if where is not None else f" ({trial.source})"
            subjects = sorted({x.rsplit(":", 1)[0] for x in trial.labels if ":" in x})
            several = (
                f"; the file holds {len(subjects)} subjects ({', '.join(subjects[:4])}): medius analyses one, "
                f"map the roles to one subject's labels ('{subjects[0]}:{label}') in a marker-set YAML"
                if len(subjects) > 1 else ""
            )
            return InvalidInputError(
                f"marker {label!r} (role {role}, marker set {self.name!r}) {why}{src}"
                f"{_close(label, trial.labels) if not trial.has(label) else ''}{several}; "
                "map the role to another marker in a marker-set YAML",
                path=where,
            )

        skipped = set(skip)
        missing_roles = [r for r in REQUIRED_ROLES if r not in self.markers and r not in optional]
        if missing_roles:
            raise InvalidInputError(
                f"marker set {self.name!r} maps no marker for the required role(s) {', '.join(missing_roles)}",
                path=None if self.source == "built-in" else self.source,
            )
        kept: dict[str, str] = {}
        dropped: dict[str, str] = dict(self.dropped)
        for role, label in self.markers.items():
            if role in skipped:
                continue
            if role in REQUIRED_ROLES and role not in optional:
                if not ok(label):
                    raise fail(role, label)
                kept[role] = label
            elif ok(label):
                kept[role] = label
            else:
                dropped[role] = label
        psis = all(r in kept for r in _POSTERIOR)
        if not psis and "sacrum" not in kept:
            for role in (*_POSTERIOR, "sacrum"):
                if role in self.markers and not ok(self.markers[role]):
                    raise fail(role, self.markers[role])
            raise InvalidInputError(
                f"marker set {self.name!r} needs both PSIS markers (left_psis, right_psis) or the sacrum",
                path=None if self.source == "built-in" else self.source,
            )
        return MarkerSet(
            self.name, kept, self.description, self.source, dropped, self.clusters, self.anatomical, self.subject
        )


#: virtual markers a static-calibration cluster may use (computed in both trials before the fit)
VIRTUAL_MARKERS: tuple[str, ...] = ("@left_hip_centre", "@right_hip_centre")


def _parse_marker_set(doc: Any, path: Path | None, source: str) -> MarkerSet:
    where = path

    def bad(msg: str) -> InvalidInputError:
        return InvalidInputError(f"marker-set YAML: {msg}", path=where)

    if not isinstance(doc, dict):
        raise bad("the file must be a mapping with 'name' and 'markers'")
    allowed_top = ("name", "description", "markers", "static_calibration", "subject_parameters")
    unknown_top = [k for k in doc if k not in allowed_top]
    if unknown_top:
        raise bad(f"unknown key(s) {', '.join(map(repr, unknown_top))}; allowed: {', '.join(map(repr, allowed_top))}")
    name = doc.get("name") or (path.stem if path is not None else "marker-set")
    if not isinstance(name, str):
        raise bad(f"'name' must be text, got {name!r}")
    desc = doc.get("description") or ""
    if not isinstance(desc, str):
        raise bad(f"'description' must be text, got {desc!r}")
    markers = doc.get("markers")
    if not isinstance(markers, dict) or not markers:
        raise bad("'markers' must be a mapping of role: marker label (see docs/lab-kinematics.md)")
    mapped: dict[str, str] = {}
    for role, label in markers.items():
        if role not in ROLES:
            close = difflib.get_close_matches(str(role), list(ROLES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise bad(f"unknown role {role!r}{hint}; roles: {', '.join(ROLES)}")
        if label is None:
            continue
        if not isinstance(label, str | int) or isinstance(label, bool) or not str(label).strip():
            raise bad(f"role {role!r}: the marker label must be text or null, got {label!r}")
        mapped[role] = str(label).strip()
    missing = [r for r in REQUIRED_ROLES if r not in mapped]
    if missing:
        raise bad(f"required role(s) not mapped: {', '.join(missing)}")
    if not all(r in mapped for r in _POSTERIOR) and "sacrum" not in mapped:
        raise bad("map both 'left_psis' and 'right_psis', or 'sacrum'")
    clusters: dict[str, list[str]] = {}
    anatomical: dict[str, list[str]] = {}
    cal = doc.get("static_calibration")
    if cal is not None:
        if not isinstance(cal, dict) or set(cal) - {"clusters", "anatomical"} or "clusters" not in cal:
            raise bad("'static_calibration' must be a mapping with 'clusters' and 'anatomical' (segment: [markers])")
        for key, target in (("clusters", clusters), ("anatomical", anatomical)):
            block = cal.get(key) or {}
            if not isinstance(block, dict):
                raise bad(f"static_calibration.{key} must be a mapping of segment: [marker labels]")
            for seg, labels in block.items():
                if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
                    raise bad(f"static_calibration.{key}.{seg} must be a list of marker labels, got {labels!r}")
                target[str(seg)] = [x.strip() for x in labels]
        for seg, labels in clusters.items():
            if len(labels) < 3:
                raise bad(f"static_calibration.clusters.{seg}: a cluster needs at least 3 markers, got {len(labels)}")
            bad_virtual = [x for x in labels if x.startswith("@") and x not in VIRTUAL_MARKERS]
            if bad_virtual:
                raise bad(
                    f"static_calibration.clusters.{seg}: unknown virtual marker(s) {', '.join(bad_virtual)}; "
                    f"known: {', '.join(VIRTUAL_MARKERS)}"
                )
        orphan = [seg for seg in anatomical if seg not in clusters]
        if orphan:
            raise bad(f"static_calibration.anatomical: segment(s) {', '.join(orphan)} have no cluster")
    subject: dict[str, float] = {}
    sp = doc.get("subject_parameters")
    if sp is not None:
        if not isinstance(sp, dict):
            raise bad("'subject_parameters' must be a mapping, e.g. {left_knee_width_mm: 95, marker_diameter_mm: 14}")
        for key, value in sp.items():
            if key not in SUBJECT_YAML_KEYS:
                close = difflib.get_close_matches(str(key), list(SUBJECT_YAML_KEYS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise bad(
                    f"subject_parameters: unknown key {key!r}{hint}; allowed: {', '.join(SUBJECT_YAML_KEYS)}"
                )
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < float(value) < 1000):
                raise bad(f"subject_parameters.{key} must be a number of millimetres (0 < value < 1000), got {value!r}")
            subject[SUBJECT_YAML_KEYS[key]] = float(value) / 1000.0
    return MarkerSet(
        name=name, markers=mapped, description=desc.strip(), source=source, clusters={k: tuple(v) for k, v in clusters.items()},
        anatomical={k: tuple(v) for k, v in anatomical.items()},
        subject=subject,
    )


def load_marker_set(name_or_path: str | Path = "plug-in-gait") -> MarkerSet:
    """Load a built-in marker set by name, or a user marker-set YAML file.

    Parameters
    ----------
    name_or_path
        a name in :data:`BUILTIN_MARKER_SETS` (``"plug-in-gait"``), or the path of a YAML file
        ``{name, description, markers: {role: label or null}}`` (``docs/lab-kinematics.md``).

    Returns
    -------
    MarkerSet
        the set, not yet checked against a trial (use :meth:`MarkerSet.resolve`).

    Raises
    ------
    InputNotFoundError
        neither a built-in name nor an existing file.
    InvalidInputError
        the YAML does not parse, names an unknown role, maps a role to something that is not
        text, or leaves a required role unmapped.
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_MARKER_SETS:
        resource = resources.files("medius.kinematics") / "markersets" / BUILTIN_MARKER_SETS[name_or_path]
        text = resource.read_text(encoding="utf-8")
        return _parse_marker_set(yaml.safe_load(text), None, "built-in")
    p = Path(name_or_path)
    if not p.exists():
        raise InputNotFoundError(
            f"no such marker-set file (built-in sets: {', '.join(BUILTIN_MARKER_SETS)})", path=p
        )
    if p.is_dir():
        raise InvalidInputError("is a folder; expected a marker-set .yaml file", path=p)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # hostile: too deep, 5000 digits
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(f"marker-set YAML does not parse: {first[:200]}", path=p) from None
    return _parse_marker_set(doc, p, str(p))


# ---------------------------------------------------------------------------------------
# rigid-body fit and cluster calibration
# ---------------------------------------------------------------------------------------
def fit_rigid_transform(
    source: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares rotation and translation that carry ``source`` points onto ``target``.

    Söderkvist and Wedin's singular-value-decomposition solution [1]_: with centroids
    ``a``, ``b`` and ``H = sum_i w_i (s_i - a)(t_i - b)^T = U S V^T``, the rotation is
    ``R = V diag(1, 1, det(V U^T)) U^T`` (a proper rotation, never a reflection) and the
    translation ``t = b - R a``; it minimises ``sum_i w_i |R s_i + t - t_i|^2``.

    Parameters
    ----------
    source
        ``(..., n, 3)`` points in the reference (static) pose, ``n >= 3`` not collinear.
    target
        ``(..., n, 3)`` the same points in the moved pose (leading axes broadcast, e.g. one
        row per frame).
    weights
        ``(..., n)`` 0/1 (or any non-negative) weights; 0 leaves a point out (a missing
        marker). Default: all 1.

    Returns
    -------
    rotation
        ``(..., 3, 3)``; NaN where fewer than 3 points have weight or they are collinear.
    translation
        ``(..., 3)``.
    rms
        ``(...,)`` root-mean-square distance between the fitted and the target points
        (over the weighted points), in the points' unit.

    References
    ----------
    .. [1] Söderkvist I, Wedin PÅ. Determining the movements of the skeleton using
       well-configured markers. J Biomech 1993;26(12):1473-1477.
    """
    s = np.asarray(source, dtype=float)
    t = np.asarray(target, dtype=float)
    s, t = np.broadcast_arrays(s, t)
    w = (
        np.ones(t.shape[:-1])
        if weights is None
        else np.broadcast_to(np.asarray(weights, float), t.shape[:-1])
    )
    w = np.where(np.isfinite(s).all(-1) & np.isfinite(t).all(-1), w, 0.0)
    s0 = np.nan_to_num(s)
    t0 = np.nan_to_num(t)
    total = w.sum(-1)
    safe = np.where(total > 0, total, 1.0)
    a = (w[..., None] * s0).sum(-2) / safe[..., None]
    b = (w[..., None] * t0).sum(-2) / safe[..., None]
    sc = s0 - a[..., None, :]
    tc = t0 - b[..., None, :]
    h = np.einsum("...n,...ni,...nj->...ij", w, sc, tc)
    u, sv, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    ut = np.swapaxes(u, -1, -2)
    d = np.sign(np.linalg.det(v @ ut))
    d = np.where(d == 0, 1.0, d)
    dmat = np.zeros(h.shape)
    dmat[..., 0, 0] = 1.0
    dmat[..., 1, 1] = 1.0
    dmat[..., 2, 2] = d
    rot = v @ dmat @ ut
    trans = b - np.einsum("...ij,...j->...i", rot, a)
    fitted = np.einsum("...ij,...nj->...ni", rot, s0) + trans[..., None, :]
    err2 = ((fitted - t0) ** 2).sum(-1)
    rms = np.sqrt((w * err2).sum(-1) / safe)
    # a rigid fit needs 3 non-collinear points: the second singular value of the centred
    # source configuration must not vanish
    spread = np.linalg.svd(np.sqrt(w)[..., None] * sc, compute_uv=False)
    scale = np.maximum(spread[..., 0], 1e-300)
    bad = (np.count_nonzero(w > 0, axis=-1) < 3) | (spread[..., 1] / scale < 1e-6)
    rot = np.where(bad[..., None, None], np.nan, rot)
    trans = np.where(bad[..., None], np.nan, trans)
    rms = np.where(bad, np.nan, rms)
    return rot, trans, rms


def calibrate_clusters(
    static: Markers3D,
    moving: Markers3D,
    clusters: Mapping[str, Sequence[str]],
    anatomical: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    max_rms_m: float = 0.02,
) -> Markers3D:
    """Reconstruct anatomical markers in a moving trial from technical-marker clusters.

    In the static trial each anatomical marker is expressed in the local frame of a cluster
    of at least 3 technical markers on the same segment; in every frame of the moving trial
    the cluster's pose is found by a least-squares rigid-body fit of the static cluster onto
    the moving one (:func:`fit_rigid_transform`, Söderkvist & Wedin 1993) and the anatomical
    marker is carried along. Frames where fewer than 3 technical markers are present give NaN.

    Parameters
    ----------
    static
        the static (calibration) trial, with the technical and the anatomical markers. Each
        marker's static position is its median over the frames where the whole cluster and
        the anatomical markers are present.
    moving
        the moving trial, with the technical markers.
    clusters
        segment name -> technical marker labels (3 or more, not collinear), e.g.
        ``{"left_thigh": ["LHJC", "LTHI", "LKNE"]}``. Virtual points (a hip centre added with
        :meth:`~medius.io.markers.Markers3D.with_markers`) may be used.
    anatomical
        the labels to reconstruct, as a mapping segment -> labels (the segment that carries
        each: a medial knee marker moves with the thigh, a medial malleolus with the shank);
        a plain list is accepted when there is a single cluster.
    max_rms_m
        largest accepted median (over frames) root-mean-square residual of a cluster's rigid
        fit, in metres. A larger one means the two trials do not match (another subject,
        relabelled or moved markers).

    Returns
    -------
    Markers3D
        ``moving`` with the anatomical markers added (replaced if present) and one log entry
        ``calibrate_clusters`` with, per segment, the technical and anatomical markers, the
        static frames used, the frames reconstructed and the median and maximum fit residual
        (``rms_median_m``, ``rms_max_m``).

    Raises
    ------
    InvalidInputError
        the trials do not match: a technical marker missing from either trial, an anatomical
        marker missing from the static trial, no static frame with the whole cluster, or a
        median fit residual above ``max_rms_m``; or a cluster with fewer than 3 markers or
        collinear markers. The message names the trial, the segment and the marker.
    medius.kinematics.ParameterError
        ``clusters`` empty, ``anatomical`` naming an unknown segment, or a list of labels
        with several clusters (which segment carries which marker is not guessed).
    """
    limit = check_real("max_rms_m", max_rms_m, low=0.0, low_inclusive=False)
    clusters = {str(k): [str(x) for x in v] for k, v in clusters.items()}
    if not clusters:
        raise ParameterError(
            "Invalid value for the 'clusters' parameter. Allowed values are non-empty mappings of "
            "segment -> technical marker labels, but got an empty mapping instead."
        )

    def err(msg: str, trial: Markers3D) -> InvalidInputError:
        where = _source_path(trial)
        return InvalidInputError(msg + ("" if where else f" ({trial.source})"), path=where)

    for seg, tech in clusters.items():
        if len(set(tech)) < 3:
            raise err(
                f"cluster {seg!r} has {len(set(tech))} distinct markers; a rigid fit needs 3 or more", static
            )
        for trial, what in ((static, "static"), (moving, "moving")):
            for lab in tech:
                if not trial.has(lab):
                    raise err(
                        f"static and moving trials do not match: technical marker {lab!r} of cluster "
                        f"{seg!r} is not in the {what} trial{_close(lab, trial.labels)}",
                        trial,
                    )
    if isinstance(anatomical, Mapping):
        assign = {str(k): [str(x) for x in v] for k, v in anatomical.items()}
        unknown = [k for k in assign if k not in clusters]
        if unknown:
            raise ParameterError(
                f"Invalid value for the 'anatomical' parameter. Allowed segments are "
                f"{', '.join(map(repr, clusters))}, but got {', '.join(map(repr, unknown))} instead."
            )
    elif isinstance(anatomical, str) or len(clusters) != 1:
        raise ParameterError(
            "Invalid value for the 'anatomical' parameter. Allowed values are a mapping "
            "{segment: [labels]} (or a list of labels when there is a single cluster), but got "
            f"{anatomical!r} instead. Say which segment carries each anatomical marker: a medial "
            "knee marker belongs to the thigh, a medial malleolus to the shank."
        )
    else:
        assign = {next(iter(clusters)): [str(x) for x in anatomical]}
    for lab in (x for labs in assign.values() for x in labs):
        if not static.has(lab):
            raise err(
                f"static and moving trials do not match: anatomical marker {lab!r} is not in the "
                f"static trial{_close(lab, static.labels)}",
                static,
            )

    new: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {}
    for seg, tech in clusters.items():
        anat = assign.get(seg, [])
        if not anat:
            continue
        names = [*tech, *anat]
        st = np.stack([static.xyz(x) for x in names], axis=1)
        full = np.isfinite(st).all(axis=(1, 2))
        if not full.any():
            raise err(f"no frame of the static trial has all of {', '.join(names)} (segment {seg!r})", static)
        ref = np.median(st[full], axis=0)
        ref_tech, ref_anat = ref[: len(tech)], ref[len(tech) :]
        centred = ref_tech - ref_tech.mean(0)
        sv = np.linalg.svd(centred, compute_uv=False)
        if sv[1] < 1e-3 * max(sv[0], 1e-12) or sv[0] < 1e-6:
            raise err(f"the technical markers of cluster {seg!r} are collinear in the static trial", static)
        mv = np.stack([moving.xyz(x) for x in tech], axis=1)  # (time, n, 3)
        rot, trans, rms = fit_rigid_transform(ref_tech[None], mv)
        ok = np.isfinite(rms)
        if not ok.any():
            raise err(
                f"no frame of the moving trial has 3 or more markers of cluster {seg!r} ({', '.join(tech)})",
                moving,
            )
        med = float(np.median(rms[ok]))
        if med > limit:
            raise err(
                f"static and moving trials do not match: cluster {seg!r} ({', '.join(tech)}) is not rigid "
                f"between them (median fit residual {med * 1000:.1f} mm > {limit * 1000:.1f} mm); "
                "check the subject and the marker labels",
                moving,
            )
        for j, lab in enumerate(anat):
            new[lab] = np.einsum("tij,j->ti", rot, ref_anat[j]) + trans
        report[seg] = {
            "technical": list(tech),
            "anatomical": list(anat),
            "static_frames_used": int(full.sum()),
            "frames_reconstructed": int(ok.sum()),
            "rms_median_m": med,
            "rms_max_m": float(np.max(rms[ok])),
        }
    out = moving.with_markers(new)
    return out.with_log(
        "calibrate_clusters",
        method="least-squares rigid-body fit (Söderkvist & Wedin 1993, SVD)",
        static=static.source,
        max_rms_m=limit,
        segments=report,
    )
