"""Uploads: streamed to disk with a size cap, checked by content, stored under a generated name.

Each recording gets its own folder ``MEDIA/<recording id>/`` (outside any static mount) holding
``input<suffix>`` (the suffix comes from the detected content, never from the client's name),
``result/`` (the analysis output) and ``analysis.log``. The client's file name is kept only as
metadata, and a name that carries a folder is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from medius.errors import MediusError
from medius.web import messages
from medius.web.security import tokens_equal

__all__ = ["ReceivedUpload", "UploadRefused", "check_media_content", "clean_client_name", "receive_upload"]

MAX_FIELDS = 20
MAX_FIELD_BYTES = 10_000


class UploadRefused(Exception):
    """An upload that is refused; ``status_code`` is the HTTP answer, ``str()`` the reason."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class ReceivedUpload:
    """A multipart upload written to ``path`` (a temporary name) with its form fields."""

    path: Path | None
    client_name: str
    size_bytes: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)


_FILENAME = re.compile(rb'(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))', re.I)


def _raw_filename(header: bytes) -> bytes | None:
    m = _FILENAME.search(header)
    if m is None:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2).strip()


def clean_client_name(name: str) -> str:
    """The client's file name as metadata; refuses any name with a folder part or control characters."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or any(ord(c) < 32 for c in name)
        or len(name) > 255
    ):
        raise UploadRefused(messages.UPLOAD_BAD_NAME.format(name=name[:100]), 400)
    return name


async def receive_upload(
    request: Request, *, dest_dir: Path, max_bytes: int, csrf_token: str
) -> ReceivedUpload:
    """Stream a ``multipart/form-data`` body to ``dest_dir/upload.partial``, checking as it comes.

    The CSRF token must arrive (form field ``csrf_token`` before the file, or header
    ``X-CSRF-Token``) before a byte of the file is written; the file part may not exceed
    ``max_bytes``; only one file part is accepted.
    """
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRefused(messages.UPLOAD_BAD_FORM.format(reason="expected multipart/form-data"), 400)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 1_000_000:
        raise UploadRefused(messages.UPLOAD_TOO_LARGE.format(limit_mb=max_bytes // (1024 * 1024)), 413)
    header_ok = tokens_equal(request.headers.get("x-csrf-token"), csrf_token)
    state: dict[str, Any] = {
        "csrf_ok": header_ok,
        "headers": {},
        "hname": b"",
        "hvalue": b"",
        "name": None,
        "filename": None,
        "buf": bytearray(),
        "file": None,
        "size": 0,
        "sha": hashlib.sha256(),
        "fields": {},
        "client": "",
        "error": None,
        "n_files": 0,
    }
    tmp = dest_dir / "upload.partial"

    def fail(exc: UploadRefused) -> None:
        if state["error"] is None:
            state["error"] = exc

    def on_part_begin() -> None:
        state["headers"] = {}
        state["name"] = state["filename"] = None
        state["buf"] = bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["hvalue"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["hname"].decode("latin-1").lower()] = state["hvalue"]
        state["hname"], state["hvalue"] = b"", b""

    def on_headers_finished() -> None:
        _, opts = parse_options_header(state["headers"].get("content-disposition", b""))
        state["name"] = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            # the raw value: python-multipart drops a Windows folder part, and a name with any
            # folder part must be refused, not silently trimmed
            raw = _raw_filename(state["headers"].get("content-disposition", b""))
            state["filename"] = (raw if raw is not None else opts[b"filename"]).decode("utf-8", "replace")
        if state["filename"] is not None:
            if state["error"] is not None:
                return
            state["n_files"] += 1
            if state["n_files"] > 1:
                fail(UploadRefused(messages.UPLOAD_BAD_FORM.format(reason="only one file per upload"), 400))
                return
            if not state["csrf_ok"]:
                fail(UploadRefused(messages.CSRF_FAILED, 403))
                return
            try:
                state["client"] = clean_client_name(state["filename"])
            except UploadRefused as exc:
                fail(exc)
                return
            state["file"] = open(tmp, "wb")  # noqa: SIM115 - closed in on_part_end / finally
        elif len(state["fields"]) >= MAX_FIELDS:
            fail(UploadRefused(messages.UPLOAD_BAD_FORM.format(reason="too many fields"), 400))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["error"] is not None:
            return
        chunk = data[start:end]
        if state["filename"] is not None:
            if state["file"] is None:
                return
            state["size"] += len(chunk)
            if state["size"] > max_bytes:
                fail(
                    UploadRefused(messages.UPLOAD_TOO_LARGE.format(limit_mb=max_bytes // (1024 * 1024)), 413)
                )
                return
            state["sha"].update(chunk)
            state["file"].write(chunk)
        else:
            state["buf"] += chunk
            if len(state["buf"]) > MAX_FIELD_BYTES:
                fail(UploadRefused(messages.UPLOAD_BAD_FORM.format(reason="a form field is too long"), 400))

    def on_part_end() -> None:
        if state["filename"] is not None:
            if state["file"] is not None:
                state["file"].close()
                state["file"] = None
        elif state["name"]:
            value = bytes(state["buf"]).decode("utf-8", "replace")
            state["fields"][state["name"]] = value
            if state["name"] == "csrf_token" and tokens_equal(value, csrf_token):
                state["csrf_ok"] = True

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    dest_dir.mkdir(parents=True, exist_ok=True)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + 1_000_000:
                fail(
                    UploadRefused(messages.UPLOAD_TOO_LARGE.format(limit_mb=max_bytes // (1024 * 1024)), 413)
                )
            if state["error"] is not None:
                break
            try:
                parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own parse errors
                fail(UploadRefused(messages.UPLOAD_BAD_FORM.format(reason=str(exc)[:200]), 400))
                break
        if state["error"] is None:
            parser.finalize()
    finally:
        if state["file"] is not None:
            state["file"].close()
    if state["error"] is not None:
        tmp.unlink(missing_ok=True)
        raise state["error"]
    if not state["csrf_ok"]:
        tmp.unlink(missing_ok=True)
        raise UploadRefused(messages.CSRF_FAILED, 403)
    if state["n_files"] == 0 or state["size"] == 0:
        tmp.unlink(missing_ok=True)
        raise UploadRefused(messages.UPLOAD_EMPTY, 422)
    return ReceivedUpload(
        path=tmp,
        client_name=state["client"],
        size_bytes=state["size"],
        sha256=state["sha"].hexdigest(),
        fields=state["fields"],
    )


def check_media_content(path: Path) -> tuple[str, str, dict[str, Any]]:
    """What an uploaded file really is, from its bytes: ``(kind, suffix, info)``.

    ``kind`` is ``"video"`` (checked with :func:`medius.io.video.probe_video`), ``"markers"``
    (a C3D file read with :func:`medius.io.markers.read_c3d`, or a TRC file of 3-D markers) or
    ``"keypoints"`` (a TRC file of pixel keypoints). The file is read in a child process
    (:func:`medius.web.media._inspect.inspect_media` through :mod:`medius.isolated`): a file that
    crashes a parser, or needs more than ``MEDIUS_PARSE_TIMEOUT_S`` / ``MEDIUS_PARSE_MEMORY_MB``,
    is refused and the app keeps running. Raises :class:`UploadRefused` otherwise.
    """
    from medius.isolated import run_isolated
    from medius.web.media._inspect import inspect_media

    with open(path, "rb") as fh:
        head = fh.read(2)
    try:
        if len(head) > 1 and head[1] == 0x50:
            # a C3D: only ezc3d's parse needs the child (medius.io.markers.open_c3d isolates it, in a
            # child that starts in 0.1 s); the rest of the check is numpy on its result
            kind, suffix, reason, info = inspect_media(str(path))
        else:  # a TRC (parsed out of the app's memory) or a video probed by FFmpeg
            kind, suffix, reason, info = run_isolated(
                "medius.web.media._inspect:inspect_media", str(path), path=path, what="uploaded"
            )
    except MediusError as exc:
        raise UploadRefused(messages.UPLOAD_UNREADABLE.format(reason=exc.message), 422) from None
    if kind == "refused":
        template = messages.UPLOAD_NOT_MARKERS if suffix == "markers" else messages.UPLOAD_NOT_VIDEO
        raise UploadRefused(template.format(reason=reason), 422)
    return kind, suffix, info


def store_upload(upload: ReceivedUpload, folder: Path, suffix: str) -> Path:
    """Move the checked upload to its final, generated name ``folder/input<suffix>``."""
    assert upload.path is not None
    final = folder / f"input{suffix}"
    os.replace(upload.path, final)
    return final


def new_recording_folder(media_dir: Path) -> tuple[uuid.UUID, Path]:
    rid = uuid.uuid4()
    folder = media_dir / str(rid)
    folder.mkdir(parents=True, exist_ok=False)
    return rid, folder
