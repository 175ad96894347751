"""What an input path holds (a video, keypoints, a lab marker trial), and its content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

from medius.errors import InputNotFoundError, InvalidInputError
from medius.io.markers import trc_units

__all__ = ["KEYPOINT_SUFFIXES", "MARKER_KINDS", "VIDEO_SUFFIXES", "input_kind", "input_sha256"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".3gp", ".mts")
KEYPOINT_SUFFIXES = (".json", ".trc")
#: input kinds that are 3D marker data (lab trials)
MARKER_KINDS = ("c3d", "marker-trc", "marker-text")


def input_kind(path: Path) -> str:
    """What an existing path holds.

    ``"video"``, ``"openpose-json"`` (a file or a folder of them), ``"trc"`` (2D keypoints in
    pixels), ``"video-folder"``, or lab marker data: ``"c3d"``, ``"marker-trc"`` (a TRC in mm or
    m) and ``"marker-text"`` (a ``.txt``/``.tsv``/``.csv`` table of marker X/Y/Z columns).
    """
    if not path.exists():
        raise InputNotFoundError("no such file or folder", path=path)
    if path.is_dir():
        if any(path.glob("*.json")):
            return "openpose-json"
        if any(p.suffix.lower() in VIDEO_SUFFIXES for p in path.iterdir() if p.is_file()):
            return "video-folder"
        raise InvalidInputError("folder holds neither videos nor OpenPose JSON keypoint files", path=path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "openpose-json"
    if suffix == ".trc":
        units = (trc_units(path) or "").lower()
        return "marker-trc" if units in ("mm", "cm", "m") else "trc"
    if suffix == ".c3d":
        return "c3d"
    if suffix in (".txt", ".tsv", ".csv"):
        return "marker-text"
    return "video"


def input_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's ``*.json`` files (names and bytes, in name order)."""
    h = hashlib.sha256()
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
