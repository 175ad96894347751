"""What an uploaded file is, read from its bytes; run in a child process by
:func:`medius.web.media.storage.check_media_content` (:mod:`medius.isolated`), so a file that
crashes a parser (ezc3d, FFmpeg) or needs too much memory or time cannot harm the app.

Imports only the readers it needs (no web framework), so the child starts fast.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

__all__ = ["inspect_media"]

#: FFmpeg demuxer name → stored suffix (what :func:`medius.analysis.input_kind` reads)
CONTAINER_SUFFIX = {
    "mov,mp4,m4a,3gp,3g2,mj2": ".mp4",
    "matroska,webm": ".mkv",
    "avi": ".avi",
    "mpegts": ".mts",
    "mpeg": ".mpg",
}


def inspect_media(path_text: str) -> tuple[str, str, str, dict[str, Any]]:
    """``("markers" | "keypoints" | "video", suffix, "", info)`` or ``("refused", which, reason, {})``.

    ``which`` is ``"markers"`` (not a marker or keypoint file) or ``"video"`` (not a video).
    """
    from medius.errors import MediusError

    path = Path(path_text)
    with open(path, "rb") as fh:
        head = fh.read(512)
    try:
        if head.startswith(b"PathFileType"):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:3]
            header = (
                dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=False)) if len(lines) >= 3 else {}
            )
            tmp_trc = path.with_name("check.trc")
            shutil.copyfile(path, tmp_trc)
            try:
                if header.get("Units", "").strip().lower() == "px":
                    from medius.io.keypoint_files import read_keypoints

                    kp = read_keypoints(tmp_trc)
                    return (
                        "keypoints",
                        ".trc",
                        "",
                        {"format": "trc", "units": "px", "n_frames": int(kp.n_frames)},
                    )
                from medius.io.markers import read_trc_3d

                mk = read_trc_3d(tmp_trc)
                return (
                    "markers",
                    ".trc",
                    "",
                    {"format": "trc", "n_frames": int(mk.n_frames), "n_markers": int(mk.n_markers)},
                )
            finally:
                tmp_trc.unlink(missing_ok=True)
        if len(head) > 1 and head[1] == 0x50:  # C3D: byte 2 of the header is the 0x50 signature
            from medius.io.markers import read_c3d

            tmp_c3d = path.with_name("check.c3d")
            shutil.copyfile(path, tmp_c3d)
            try:
                mk = read_c3d(tmp_c3d)
            finally:
                tmp_c3d.unlink(missing_ok=True)
            return (
                "markers",
                ".c3d",
                "",
                {"format": "c3d", "n_frames": int(mk.n_frames), "n_markers": int(mk.n_markers)},
            )
    except MediusError as exc:
        return "refused", "markers", exc.message, {}
    from medius.io.video import probe_video

    try:
        info = probe_video(path)
    except MediusError as exc:
        return "refused", "video", exc.message, {}
    suffix = CONTAINER_SUFFIX.get(info.container_format, ".video")
    return (
        "video",
        suffix,
        "",
        {
            "format": info.container_format,
            "codec": info.codec,
            "width": info.width,
            "height": info.height,
            "duration_s": info.duration_s,
            "fps": info.fps,
            "n_frames": info.n_frames,
        },
    )
