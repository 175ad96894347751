"""Video input and output with PyAV: probe, decode upright RGB frames, write H.264 MP4.

Conventions (shared with :mod:`medius.io._sequence`):

* **Displayed frame.** Images are returned *upright*: the container's display matrix (or
  the legacy ``rotate`` tag) is applied, exactly as a phone or browser shows the video.
  ``width``/``height`` in :class:`VideoInfo` are those of the displayed frame; the
  ``coded_*`` sizes are the frame as stored in the file, before rotation. Pixels are
  assumed square (the sample aspect ratio is not applied; phones write square pixels).
* **Time.** ``time_s`` comes from the container's presentation timestamps (PTS), made
  relative to the first decoded frame. No frame rate is ever assumed, so variable frame
  rate recordings keep their real timing.
* **Rotation sign.** :attr:`VideoInfo.rotation_deg` is the *clockwise* rotation a player
  applies to the stored frame to show it, in ``{0, 90, 180, 270}``; it matches the legacy
  ``rotate`` tag and exiftool's "Rotation" (a phone held upright in portrait usually gives
  ``90``). When the display matrix also mirrors, :attr:`VideoInfo.is_mirrored` is true and
  the player mirrors left-right *after* rotating. FFmpeg's own
  ``av_display_rotation_get`` reports the opposite (counter-clockwise) sign.

Decoding runs on a background thread that feeds a bounded queue, so decoding overlaps the
consumer (pose inference) while memory stays flat for any video length.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import struct
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import av.error
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from medius.errors import InputNotFoundError, InvalidInputError, OutputError

__all__ = [
    "MAX_SIDE_PX",
    "Frame",
    "FrameCache",
    "VideoInfo",
    "VideoWriter",
    "iter_frames",
    "probe_video",
    "transcode_video",
]

_log = logging.getLogger(__name__)

#: Largest accepted frame side in pixels (displayed or coded). Larger videos are refused
#: with advice to re-encode: decoding 8K+ frames for a squat analysis only costs time.
MAX_SIDE_PX: int = 8192

#: Number of leading video packets whose PTS are inspected to judge variable frame rate.
_VFR_PROBE_PACKETS: int = 120
#: Largest timestamps ignored when the PTS sample stops mid-file: packets come in decode
#: order, so with B-frames a few frames just before the last sampled one are not read yet.
_VFR_REORDER_MARGIN: int = 16

#: Relative spread of frame intervals (max - min, over the median) above which the
#: frame rate is called variable.
_VFR_REL_SPREAD: float = 0.10

#: Time base of :class:`VideoWriter` output: 1/90000 s, the MPEG clock, fine enough to
#: keep any phone timestamp to well under a millisecond.
_WRITER_TIME_BASE = Fraction(1, 90000)

#: FFmpeg demuxers that read still images or text, not videos.
_NON_VIDEO_FORMATS = frozenset({"image2", "tty", "lavfi"})
#: FFmpeg "video" codecs that render text files (ANSI art, binary text).
_NON_VIDEO_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})
#: FFmpeg name of the MP4/MOV demuxer, whose sample index can be checked against the file size.
_MOV_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learnt about a video file.

    Attributes
    ----------
    path
        The probed file.
    container_format
        FFmpeg demuxer name, e.g. ``"mov,mp4,m4a,3gp,3g2,mj2"`` or ``"matroska,webm"``.
    codec
        FFmpeg decoder name of the video stream, e.g. ``"h264"``, ``"hevc"``.
    width, height
        Size in pixels of the *displayed* frame (rotation metadata applied).
    coded_width, coded_height
        Size in pixels of the frame as stored in the file, before rotation.
    rotation_deg
        Clockwise rotation in degrees (0, 90, 180 or 270) a player applies to the stored
        frame to display it; from the display matrix, else the legacy ``rotate`` tag.
    is_mirrored
        True when the display matrix also mirrors the picture left-right (applied after
        the rotation).
    n_frames
        Frame count declared by the container, or None when it does not declare one
        (e.g. Matroska). Decoding may yield slightly fewer (edit lists).
    duration_s
        Duration in seconds from the stream (else the container), or None if unknown.
    fps
        Average frame rate in frames per second (the stream's ``avg_frame_rate``; else
        one over the median PTS interval), or None if it cannot be known.
    is_variable_frame_rate
        Judged from the actual PTS of the first 120 video packets: true when the spread
        (max - min) of their intervals exceeds 10 % of the median interval (plus two
        ticks of the time base for rounding). A dropped frame therefore counts as
        variable. Never true with fewer than three timestamps.
    time_base
        The stream's time base (seconds per PTS tick).
    has_audio
        Whether the file also has an audio stream.
    pixel_format
        FFmpeg pixel format of the decoded video, e.g. ``"yuv420p"``, ``"yuv420p10le"``.
    bit_depth
        Bits per colour component (8, 10, ...), or None if unknown.
    stream_index
        Index of the chosen video stream in the container.
    """

    path: Path
    container_format: str
    codec: str
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation_deg: int
    is_mirrored: bool
    n_frames: int | None
    duration_s: float | None
    fps: float | None
    is_variable_frame_rate: bool
    time_base: Fraction
    has_audio: bool
    pixel_format: str | None
    bit_depth: int | None
    stream_index: int


@dataclass(slots=True)
class Frame:
    """One decoded, upright RGB frame.

    Attributes
    ----------
    index
        0-based position of the frame in the decoder's output order. Frames dropped for
        a non-increasing timestamp leave a gap, so ``index`` always names the same
        picture of the file.
    time_s
        Presentation time in seconds relative to the first decoded frame (which is 0.0).
    image
        ``(height, width, 3)`` uint8 RGB array, C-contiguous, upright (rotation applied).
    scale
        Image pixels per displayed-frame pixel (``image long side / displayed long
        side``); 1.0 when not scaled, < 1 when downscaled. Divide image coordinates by
        it to get displayed-frame coordinates.
    """

    index: int
    time_s: float
    image: np.ndarray
    scale: float


# --------------------------------------------------------------------------- probing


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's metadata and decode its first frame to prove it is usable.

    Parameters
    ----------
    path
        The video file.

    Returns
    -------
    VideoInfo
        Sizes, rotation, timing and format of the best video stream.

    Raises
    ------
    InputNotFoundError
        The path does not exist, is a directory, or cannot be read.
    InvalidInputError
        The file is empty, not a video (text, still image, audio only), cannot be
        opened (e.g. an MP4 truncated before its ``moov`` index), is truncated (sample
        data beyond the end of the file), has no decodable frame, or has a frame side
        larger than :data:`MAX_SIDE_PX`.

    Notes
    -----
    Only the first frame is decoded; the first 120 packets are demuxed (not decoded) to
    judge variable frame rate. A file whose damage lies after the first frame is
    reported by :func:`iter_frames` when decoding reaches it.
    """
    p = _check_readable_file(path)
    with _open_input(p) as container:
        fmt_name = container.format.name
        stream = _select_video_stream(container, p)
        ctx = stream.codec_context
        codec = ctx.name
        if fmt_name in _NON_VIDEO_FORMATS or fmt_name.endswith("_pipe") or codec in _NON_VIDEO_CODECS:
            kind = "a text file" if codec in _NON_VIDEO_CODECS or fmt_name == "tty" else "a still image"
            raise InvalidInputError(
                f"not a video: the file is {kind} (format {fmt_name!r}); give a video file (MP4, MOV)",
                path=p,
            )
        coded_w, coded_h = int(ctx.width), int(ctx.height)
        _check_frame_size(coded_w, coded_h, p)
        if fmt_name == _MOV_FAMILY:
            _check_mov_not_truncated(stream, p)

        first_frame, packet_pts, all_read = _decode_first_frame(container, stream, p)
        if not packet_pts and first_frame.pts is None and first_frame.dts is None:
            raise InvalidInputError(
                f"video has no timestamps (a raw {codec} stream, format {fmt_name!r}); its timing "
                "cannot be known: put it in an MP4 with its real frame rate "
                "(e.g. ffmpeg -r 30 -i IN -c copy OUT.mp4)",
                path=p,
            )
        if first_frame.width > 0 and first_frame.height > 0:
            coded_w, coded_h = int(first_frame.width), int(first_frame.height)
            _check_frame_size(coded_w, coded_h, p)
        rotation_deg, is_mirrored = _read_orientation(first_frame, stream, p)

        time_base = stream.time_base or Fraction(1, 1)
        median_dt, is_vfr = _judge_frame_intervals(packet_pts, time_base, all_read)
        avg_rate = stream.average_rate
        if avg_rate:
            fps: float | None = float(avg_rate)
        elif median_dt:
            fps = 1.0 / median_dt
        else:
            fps = None
        if stream.duration:
            duration_s: float | None = float(stream.duration * time_base)
        elif container.duration:
            duration_s = container.duration / av.time_base
        else:
            duration_s = None
        pix_fmt = first_frame.format.name if first_frame.format is not None else ctx.pix_fmt
        swap = rotation_deg in (90, 270)
        return VideoInfo(
            path=p,
            container_format=fmt_name,
            codec=codec,
            width=coded_h if swap else coded_w,
            height=coded_w if swap else coded_h,
            coded_width=coded_w,
            coded_height=coded_h,
            rotation_deg=rotation_deg,
            is_mirrored=is_mirrored,
            n_frames=int(stream.frames) if stream.frames else None,
            duration_s=duration_s,
            fps=fps,
            is_variable_frame_rate=is_vfr,
            time_base=Fraction(time_base),
            has_audio=len(container.streams.audio) > 0,
            pixel_format=pix_fmt,
            bit_depth=_bit_depth(pix_fmt),
            stream_index=int(stream.index),
        )


def _check_readable_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError("video file not found", path=p)
    if p.is_dir():
        raise InputNotFoundError("is a directory, not a video file", path=p)
    if not os.access(p, os.R_OK):
        raise InputNotFoundError("video file cannot be read (permission denied)", path=p)
    if p.stat().st_size == 0:
        raise InvalidInputError("not a video: the file is empty (0 bytes)", path=p)
    return p


def _open_input(p: Path) -> Any:
    """``av.open`` for reading, with FFmpeg errors turned into medius errors."""
    try:
        return av.open(str(p), mode="r")
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise InputNotFoundError(f"video file cannot be opened: {_ffmpeg_reason(exc)}", path=p) from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"not a readable video: FFmpeg cannot open it ({_ffmpeg_reason(exc)}); "
            "the file is not a video, or it is corrupt or truncated",
            path=p,
        ) from exc


def _ffmpeg_reason(exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None)
    return str(reason) if reason else str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _select_video_stream(container: Any, p: Path) -> Any:
    videos = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not videos:
        what = "an audio-only file" if container.streams.audio else "a container without a video stream"
        raise InvalidInputError(f"not a video: {what}; give a video file (MP4, MOV)", path=p)
    candidates = [s for s in videos if s.codec_context is not None]
    if not candidates:
        raise InvalidInputError(
            "no decoder for the video codec of this file; re-encode it as H.264 or HEVC", path=p
        )

    def _rank(s: Any) -> tuple[bool, int]:
        ctx = s.codec_context
        return bool(s.disposition & av.stream.Disposition.default), int(ctx.width or 0) * int(ctx.height or 0)

    return max(candidates, key=_rank)


def _check_frame_size(width: int, height: int, p: Path) -> None:
    """Refuse frames with a side larger than :data:`MAX_SIDE_PX`."""
    if max(width, height) > MAX_SIDE_PX:
        raise InvalidInputError(
            f"frame is {width}x{height} px, larger than the {MAX_SIDE_PX} px per side medius accepts; "
            "re-encode the video at a lower resolution (e.g. 1920x1080)",
            path=p,
        )


def _check_mov_not_truncated(stream: Any, p: Path) -> None:
    """MP4/MOV: the sample index says where every frame lies; it must lie inside the file."""
    size = p.stat().st_size
    for i, entry in enumerate(stream.index_entries):
        if entry.size > 0 and entry.pos >= 0 and entry.pos + entry.size > size:
            raise InvalidInputError(
                f"file is truncated: frame {i} and later lie beyond its end ({size} bytes); "
                "copy or export the video again",
                path=p,
            )


def _decode_first_frame(container: Any, stream: Any, p: Path) -> tuple[Any, list[int], bool]:
    """Decode until the first frame; also collect the PTS of the leading packets.

    Returns the first frame, the PTS of up to ``_VFR_PROBE_PACKETS`` packets, and whether
    those are all the packets of the stream.
    """
    packet_pts: list[int] = []
    first = None
    n_packets = 0
    all_read = True
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and len(packet_pts) < _VFR_PROBE_PACKETS:
                packet_pts.append(int(packet.pts))
            if packet.size > 0:
                n_packets += 1
            if first is None:
                frames = stream.decode(packet)
                if frames:
                    first = frames[0]
            if first is not None and len(packet_pts) >= _VFR_PROBE_PACKETS:
                all_read = False
                break
    except av.error.FFmpegError as exc:
        if first is None:
            raise InvalidInputError(
                f"cannot decode the first video frame ({_ffmpeg_reason(exc)}); the file is corrupt",
                path=p,
            ) from exc
    if first is None:
        detail = "no video data" if n_packets == 0 else f"none of its {n_packets} video packets decodes"
        raise InvalidInputError(f"video has zero decodable frames ({detail})", path=p)
    return first, packet_pts, all_read


def _judge_frame_intervals(
    packet_pts: list[int], time_base: Fraction, all_read: bool
) -> tuple[float | None, bool]:
    """Median frame interval in seconds and whether the frame rate is variable."""
    ticks = np.unique(np.asarray(packet_pts, dtype=np.int64))
    if not all_read and ticks.size > 2 * _VFR_REORDER_MARGIN:
        ticks = ticks[:-_VFR_REORDER_MARGIN]
    if ticks.size < 2:
        return None, False
    dt = np.diff(ticks).astype(np.float64) * float(time_base)
    median = float(np.median(dt))
    if dt.size < 2:
        return median, False
    spread = float(dt.max() - dt.min())
    return median, spread > _VFR_REL_SPREAD * median + 2.0 * float(time_base)


def _bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    try:
        comps = av.VideoFormat(pix_fmt).components
    except (ValueError, av.error.FFmpegError):
        return None
    return int(comps[0].bits) if comps else None


# ------------------------------------------------------------------------ orientation


def _read_orientation(frame: Any, stream: Any, p: Path) -> tuple[int, bool]:
    """(clockwise rotation in degrees, mirrored) from the display matrix or ``rotate`` tag."""
    matrix = None
    for sd in frame.side_data:
        if sd.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:  # type: ignore[attr-defined]  # not in the stubs
            raw = bytes(sd)
            if len(raw) >= 36:
                matrix = struct.unpack("=9i", raw[:36])
            break
    if matrix is not None:
        return _orientation_from_matrix(matrix, p)
    tag = stream.metadata.get("rotate")
    if tag is not None:
        try:
            deg = float(tag)
        except ValueError:
            _log.warning("%s: ignoring unreadable rotate tag %r", p, tag)
            return 0, False
        return _round_rotation(deg, p), False
    return 0, False


def _orientation_from_matrix(matrix: tuple[int, ...], p: Path) -> tuple[int, bool]:
    """Decompose an FFmpeg display matrix into a clockwise rotation and a mirror.

    FFmpeg's matrix ``[a b u; c d v; x y w]`` (16.16 fixed point) maps a stored pixel
    ``(p, q)`` (x right, y down) to the displayed ``(a p + c q, b p + d q)``. A clockwise
    rotation by R is ``a = d = cos R, b = -c = sin R``; mirroring left-right afterwards
    negates ``a`` and ``c``. So R = atan2(b, d) in both cases and the determinant's sign
    says whether the picture is mirrored. This reproduces the ``ffmpeg`` command line's
    autorotation for all eight orientations.
    """
    a, b, _, c, d = (v / 65536.0 for v in matrix[:5])
    if a == b == c == d == 0:
        return 0, False
    rotation = _round_rotation(math.degrees(math.atan2(b, d)), p)
    return rotation, (a * d - b * c) < 0


def _round_rotation(deg: float, p: Path) -> int:
    r = int(round(deg / 90.0)) * 90 % 360
    off = abs(((deg - r) + 180.0) % 360.0 - 180.0)
    if off > 1.0:
        _log.warning("%s: rotation of %.1f deg is not a multiple of 90; using %d", p, deg, r)
    return r


#: OpenCV rotation codes by clockwise angle. cv2 copies 4-5x faster than a numpy
#: ``rot90`` + ``ascontiguousarray`` and releases the GIL, so decoding overlaps the consumer.
_CV2_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _orient(image: np.ndarray, rotation_deg: int, is_mirrored: bool) -> np.ndarray:
    """Stored -> displayed: rotate clockwise by ``rotation_deg``, then mirror if asked.

    Equal to ``np.rot90(image, -rotation_deg // 90)`` then ``[:, ::-1]``; returns a new
    C-contiguous array whenever it transforms.
    """
    out = cv2.rotate(image, _CV2_ROTATE[rotation_deg]) if rotation_deg else image
    if is_mirrored:
        out = cv2.flip(out, 1)
    return out


# --------------------------------------------------------------------------- decoding


def _target_size(width: int, height: int, max_side_px: int | None) -> tuple[int, int, float]:
    """Displayed output size and scale for a long side of at most ``max_side_px``."""
    long_side = max(width, height)
    if max_side_px is None or long_side <= max_side_px:
        return width, height, 1.0
    scale = max_side_px / long_side
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


#: frames of at most this many coded pixels (1080p and below) are decoded on one thread: a
#: 1080p H.264 frame takes about 2 ms there, far less than a pose inference (about 25 ms), and
#: FFmpeg's frame threads would spend about half as much CPU again on their hand-offs (2.8-3.3
#: against 1.9 ms a frame for 1080p H.264, 1.4 against 0.9 ms at 960 x 540, measured on the
#: bench machine), CPU the pose pass's side work and a second batch worker need. Larger
#: frames (4K, where one thread would take most of a core) keep FFmpeg's automatic threading.
#: The decoded pictures are the same either way (H.264 and HEVC decoding is exact).
SINGLE_THREAD_DECODE_MAX_PIXELS = 1920 * 1088


def _decode_frames(
    info: VideoInfo,
    out_width: int,
    out_height: int,
    scale: float,
    stop: threading.Event | None = None,
) -> Generator[Frame, None, None]:
    """Decode every frame of ``info.path`` as an upright RGB :class:`Frame` (same thread)."""
    p = info.path
    swap = info.rotation_deg in (90, 270)
    coded_w, coded_h = (out_height, out_width) if swap else (out_width, out_height)
    downscaling = coded_w * coded_h < info.coded_width * info.coded_height
    interpolation = "AREA" if downscaling else "BILINEAR"
    reformatter = VideoReformatter()
    to_rgb = VideoReformatter()
    nominal_dt = 1.0 / info.fps if info.fps else None

    index = -1
    t0: float | None = None
    last_raw: float | None = None
    n_missing = n_dropped = 0
    with _open_input(p) as container:
        stream = container.streams[info.stream_index]
        if info.coded_width * info.coded_height <= SINGLE_THREAD_DECODE_MAX_PIXELS:
            stream.codec_context.thread_count = 1
        else:
            stream.thread_type = "AUTO"
        try:
            for packet in container.demux(stream):
                if stop is not None and stop.is_set():
                    return
                for av_frame in stream.decode(packet):
                    index += 1
                    raw = _frame_time(av_frame)
                    if raw is None:
                        n_missing += 1
                        raw = 0.0 if last_raw is None else last_raw + (nominal_dt or 1.0 / 30.0)
                    if last_raw is not None and raw <= last_raw:
                        n_dropped += 1
                        continue
                    last_raw = raw
                    if t0 is None:
                        t0 = raw
                    if downscaling:
                        # scale in the decoder's own pixel format first, then convert the smaller
                        # picture to RGB: ~2.5 ms instead of ~6.6 ms a frame for 1768x994 -> 1280x720
                        small = reformatter.reformat(
                            av_frame, width=coded_w, height=coded_h, interpolation=interpolation
                        )
                        rgb = to_rgb.reformat(small, format="rgb24")
                    else:
                        rgb = reformatter.reformat(
                            av_frame, width=coded_w, height=coded_h, format="rgb24", interpolation=interpolation
                        )
                    image = _orient(rgb.to_ndarray(), info.rotation_deg, info.is_mirrored)
                    yield Frame(
                        index=index,
                        time_s=raw - t0,
                        image=np.ascontiguousarray(image),
                        scale=scale,
                    )
                    if stop is not None and stop.is_set():
                        return
        except av.error.FFmpegError as exc:
            where = (
                "at the first frame"
                if t0 is None or last_raw is None
                else (f"after frame {index} (t = {last_raw - t0:.3f} s)")
            )
            raise InvalidInputError(
                f"video decoding failed {where}: {_ffmpeg_reason(exc)}; "
                "the file is corrupt or truncated, copy or export it again",
                path=p,
            ) from exc
        finally:
            if n_missing:
                _log.warning("%s: %d frame(s) without a timestamp were timed by extrapolation", p, n_missing)
            if n_dropped:
                _log.warning(
                    "%s: %d frame(s) with a repeated or decreasing timestamp were dropped", p, n_dropped
                )


def _frame_time(av_frame: Any) -> float | None:
    """The frame's PTS in seconds; its packet DTS when PTS is missing; else None."""
    tb = av_frame.time_base
    if tb is None:
        return None
    if av_frame.pts is not None:
        return float(av_frame.pts * tb)
    if av_frame.dts is not None:
        return float(av_frame.dts * tb)
    return None


def iter_frames(
    path: str | os.PathLike[str],
    *,
    max_side_px: int | None = 1280,
    prefetch: int = 8,
) -> Iterator[Frame]:
    """Decode a video into upright RGB frames, on a background thread.

    The file is probed (and validated) when this function is called; decoding starts
    on the first ``next()``.

    Parameters
    ----------
    path
        The video file.
    max_side_px
        Downscale (keeping the aspect ratio, with swscale's area filter) so that the
        long side of the image is at most this many pixels; None keeps full size.
        Frames are never upscaled.
    prefetch
        Size of the queue between the decoding thread and the consumer (frames decoded
        ahead). Memory stays bounded by ``prefetch`` frames whatever the video length.

    Returns
    -------
    Iterator[Frame]
        Frames in presentation order, ``time_s`` from the container PTS relative to the
        first frame. Close it (or let it go) to stop decoding early.

    Raises
    ------
    InputNotFoundError, InvalidInputError
        As :func:`probe_video`, at call time. A decode error later in the file raises
        :class:`InvalidInputError` from the iterator, naming the last good frame index
        and time.

    Notes
    -----
    Timestamps: a frame without a PTS takes its packet's DTS, else the previous time
    plus one nominal interval (1 / average fps). A frame whose time is not strictly
    greater than the previous kept frame's (duplicate or backwards PTS) is dropped, so
    ``time_s`` is strictly increasing; each case is logged once per video as a warning.

    Stopping early (``break``, ``close()``, or dropping the iterator) stops the decoding
    thread and joins it; no thread outlives the iterator.
    """
    if max_side_px is not None and (
        isinstance(max_side_px, bool) or not isinstance(max_side_px, int) or max_side_px < 2
    ):
        raise ValueError(f"max_side_px must be None or an integer >= 2, got {max_side_px!r}")
    if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 1:
        raise ValueError(f"prefetch must be an integer >= 1, got {prefetch!r}")
    info = probe_video(path)
    out_w, out_h, scale = _target_size(info.width, info.height, max_side_px)
    return _threaded_frames(info, out_w, out_h, scale, prefetch)


_END = object()


@dataclass
class _Failure:
    exc: BaseException


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put into a bounded queue unless asked to stop; True if it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _produce(
    info: VideoInfo, out_w: int, out_h: int, scale: float, q: queue.Queue[Any], stop: threading.Event
) -> None:
    try:
        for frame in _decode_frames(info, out_w, out_h, scale, stop):
            if not _put(q, frame, stop):
                return
        _put(q, _END, stop)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
        _put(q, _Failure(exc), stop)


def _threaded_frames(
    info: VideoInfo, out_w: int, out_h: int, scale: float, prefetch: int
) -> Generator[Frame, None, None]:
    q: queue.Queue[Any] = queue.Queue(maxsize=prefetch)
    stop = threading.Event()
    worker = threading.Thread(
        target=_produce,
        args=(info, out_w, out_h, scale, q, stop),
        name=f"medius-video-decode:{info.path.name}",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            try:
                item = q.get(timeout=0.1)
            except queue.Empty:
                if not worker.is_alive() and q.empty():
                    raise RuntimeError(f"{info.path}: video decoding thread ended without a result") from None
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        while True:  # free a producer blocked on a full queue at once
            try:
                q.get_nowait()
            except queue.Empty:
                break
        worker.join(timeout=10.0)
        if worker.is_alive():
            _log.warning("%s: video decoding thread did not stop within 10 s", info.path)


# ---------------------------------------------------------------------------- writing


#: encoder threads of every :class:`VideoWriter` (x264 and x265 output depends on the count, so it
#: is fixed: the same frames give the same bytes on any machine)
ENCODER_THREADS = 2


class VideoWriter:
    """Write RGB frames with their own timestamps to an H.264 (or HEVC) MP4.

    Parameters
    ----------
    path
        Output file; written in place (the caller handles temporary names). The
        container is MOV for a ``.mov`` suffix, Matroska for ``.mkv``, else MP4.
    width, height
        Size of the displayed (upright) frames given to :meth:`write`; rounded down to
        even numbers (yuv420p needs them). Images of either the given or the rounded
        size are accepted (the odd last column/row is cropped).
    fps_hint
        Nominal frame rate for the encoder's rate control and the stream header; the
        frames' own timestamps decide their timing.
    crf
        x264/x265 constant rate factor (0-51, lower is better quality).
    preset
        x264/x265 speed preset, e.g. ``"ultrafast"``, ``"veryfast"``, ``"medium"``.
    codec
        ``"libx264"`` (browsers play it) or ``"libx265"`` (tagged ``hvc1``).
    rotation_deg
        Store the frames rotated and write a display matrix telling players to rotate
        them clockwise by this much (0, 90, 180, 270), so the video *displays* exactly
        as given. Emulates a phone that records sensor-oriented frames with a rotation
        tag; ``probe_video`` reads it back as ``rotation_deg``.
    fast_convert
        Convert RGB to YUV 4:2:0 with OpenCV (threaded, about a third of the time of the
        encoder's own swscale conversion) instead of swscale. Both are BT.601 limited range;
        pixel values differ by about 0.3 levels on average (chroma is subsampled differently),
        which is invisible but not bit-identical. Used for the annotated video and its frame
        copy; ignored with ``rotation_deg``.

    Notes
    -----
    Pixel format yuv420p; MP4/MOV get ``movflags=+faststart`` (index before data, so a
    browser can start playing before the download ends). Timestamps use a 1/90000 s time
    base, so variable-frame-rate timing survives to well under a millisecond.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        *,
        fps_hint: float = 30.0,
        crf: int = 23,
        preset: str = "veryfast",
        codec: str = "libx264",
        rotation_deg: int = 0,
        fast_convert: bool = False,
    ) -> None:
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
        if not (isinstance(fps_hint, int | float) and math.isfinite(fps_hint) and fps_hint > 0):
            raise ValueError(f"fps_hint must be a finite number > 0, got {fps_hint!r}")
        if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
            raise ValueError(f"crf must be an integer in 0..51, got {crf!r}")
        if codec not in ("libx264", "libx265"):
            raise ValueError(f"codec must be 'libx264' or 'libx265', got {codec!r}")
        if rotation_deg not in (0, 90, 180, 270):
            raise ValueError(f"rotation_deg must be one of 0, 90, 180, 270, got {rotation_deg!r}")

        self.path = Path(path)
        self.input_width, self.input_height = width, height
        self.width, self.height = width - width % 2, height - height % 2
        self.rotation_deg = rotation_deg
        self._i420 = fast_convert and rotation_deg == 0
        self.frames_written = 0
        self._last_pts: int | None = None
        self._closed = False

        suffix = self.path.suffix.lower()
        fmt = {".mov": "mov", ".mkv": "matroska"}.get(suffix, "mp4")
        options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
        try:
            self._container = av.open(str(self.path), mode="w", format=fmt, options=options)
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot create the video file: {_ffmpeg_reason(exc)}", path=self.path) from exc
        try:
            rate = Fraction(fps_hint).limit_denominator(1001)
            stream = self._container.add_stream(codec, rate=rate)
            assert isinstance(stream, av.video.stream.VideoStream)  # a video codec gives a video stream
            swap = rotation_deg in (90, 270)
            stream.width, stream.height = (self.height, self.width) if swap else (self.width, self.height)
            stream.pix_fmt = "yuv420p"
            stream.time_base = _WRITER_TIME_BASE
            stream.codec_context.time_base = _WRITER_TIME_BASE
            # a fixed encoder thread count: x264's output depends on it, and by default it follows
            # the cores the process may use, so the same input would give other bytes on another
            # machine (or a batch worker pinned to fewer cores)
            opts = {"crf": str(crf), "preset": preset, "threads": str(ENCODER_THREADS)}
            if codec == "libx265":
                opts["x265-params"] = "log-level=error"
                if fmt in ("mp4", "mov"):
                    stream.codec_tag = "hvc1"
            stream.codec_context.options = opts
            if rotation_deg:
                # PyAV takes counter-clockwise degrees; the player must turn clockwise.
                stream.set_display_rotation(-rotation_deg)
            self._container.start_encoding()  # opens the file: fail here, not at the first frame
        except (av.error.FFmpegError, OSError) as exc:
            self._close_quietly()
            raise OutputError(f"cannot create the video file: {_ffmpeg_reason(exc)}", path=self.path) from exc
        except BaseException:
            self._close_quietly()
            raise
        self._stream = stream

    def _close_quietly(self) -> None:
        self._closed = True
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError):
            _log.debug("%s: error while closing a failed writer", self.path, exc_info=True)

    def write(self, image_rgb: np.ndarray, time_s: float) -> None:
        """Encode one upright RGB frame shown at ``time_s`` seconds.

        Parameters
        ----------
        image_rgb
            ``(height, width, 3)`` uint8 RGB image, of the size given to the constructor
            or the even-rounded one.
        time_s
            Presentation time in seconds, >= 0 and strictly increasing (after rounding
            to 1/90000 s).
        """
        if self._closed:
            raise ValueError(f"{self.path}: VideoWriter is closed")
        img: np.ndarray[Any, np.dtype[np.uint8]] = np.asarray(image_rgb)
        allowed = {(self.input_height, self.input_width, 3), (self.height, self.width, 3)}
        if img.dtype != np.uint8 or img.shape not in allowed:
            raise ValueError(
                f"image_rgb must be a uint8 array of shape {sorted(allowed)}, got {img.dtype} {img.shape}"
            )
        if (
            not (isinstance(time_s, int | float | np.floating | np.integer) and math.isfinite(time_s))
            or time_s < 0
        ):
            raise ValueError(f"time_s must be a finite number >= 0, got {time_s!r}")
        pts = round(float(time_s) / _WRITER_TIME_BASE)
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(
                f"time_s must increase strictly from frame to frame, got {time_s!r} after "
                f"{float(self._last_pts * _WRITER_TIME_BASE)!r}"
            )
        img = img[: self.height, : self.width]
        if self.rotation_deg:
            img = np.rot90(img, k=self.rotation_deg // 90)  # displayed -> stored
        if self._i420:
            # convert here (OpenCV, threaded) rather than in the encoder's swscale: ~3x cheaper
            yuv = np.asarray(cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)  # no copy
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        else:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8), format="rgb24")
        frame.pts = pts
        frame.time_base = _WRITER_TIME_BASE
        try:
            self._container.mux(self._stream.encode(frame))
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot write the video: {_ffmpeg_reason(exc)}", path=self.path) from exc
        self._last_pts = pts
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.mux(self._stream.encode(None))
        except (av.error.FFmpegError, OSError) as exc:
            self._container.close()
            raise OutputError(f"cannot finish the video: {_ffmpeg_reason(exc)}", path=self.path) from exc
        try:
            self._container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot finish the video: {_ffmpeg_reason(exc)}", path=self.path) from exc

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:  # do not mask the original error with a flush failure
            try:
                self.close()
            except Exception:  # noqa: BLE001
                _log.debug("%s: error while closing after an earlier error", self.path, exc_info=True)


class FrameCache:
    """A compact temporary copy of the decoded frames, so a second pass need not decode the source.

    The pose pass decodes every frame of the input once. The annotated video needs the same frames
    again after the analysis; decoding a phone's 1080p H.264 (or a 4K HEVC, or the VP9 sample) a
    second time costs as much as encoding a small copy while the frames go by. :meth:`add` takes
    each decoded :class:`Frame`, downscales it (bilinear) so that its long side is at
    most ``max_side_px`` and encodes it with x264 ``ultrafast`` at a high quality (``crf``; 18 is
    visually lossless at these sizes: 39.5 dB PSNR on the bench's 960 x 540 frames, against
    40.4 dB at crf 15 for about 1.2 s more CPU on a 20 s video, spent beside the pose model; the
    annotated video drawn on the copy is written at crf 23 anyway); :meth:`frames` decodes the copy back as :class:`Frame`
    objects with the *original* ``index`` and ``time_s`` (exact, not rounded to the container's
    time base) and the ``scale`` of the copy relative to the displayed frame, so keypoints in
    displayed-frame pixels map onto them as onto frames decoded from the source.

    The copy is an ordinary Matroska file at ``path``: the caller puts it somewhere temporary (the
    analysis writes it into its temporary output folder and deletes it after the annotated video
    is written) and removes it with :meth:`remove`. Memory stays bounded: nothing but the frame
    indices and times (16 bytes a frame) is kept.

    Parameters
    ----------
    path
        the file to write (``.mkv``).
    display_size
        ``(width, height)`` of the displayed (upright) frame that ``Frame.scale`` refers to.
    max_side_px
        long side of the copy in pixels (frames are never upscaled).
    fps_hint
        nominal frame rate for the encoder's rate control.
    crf
        x264 constant rate factor of the copy.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        display_size: tuple[int, int],
        max_side_px: int,
        fps_hint: float = 30.0,
        crf: int = 18,
    ) -> None:
        self.path = Path(path)
        dw, dh = (int(v) for v in display_size)
        w, h, self.scale = _target_size(dw, dh, max_side_px)
        self.width, self.height = max(2, w - w % 2), max(2, h - h % 2)
        self._fps_hint = float(fps_hint) if math.isfinite(fps_hint) and fps_hint > 0 else 30.0
        self._crf = crf
        self._writer: VideoWriter | None = None
        self._index: list[int] = []
        self._time: list[float] = []
        self._closed = False

    @property
    def n_frames(self) -> int:
        return len(self._index)

    def add(self, frame: Frame) -> np.ndarray:
        """Append one decoded frame (any size; it is resized to the copy's size).

        Returns the image as it goes into the copy (the copy's size, before encoding), for
        work that wants the frames at that size while they go by (the face scan of the
        annotated video).
        """
        if self._closed:
            raise ValueError(f"{self.path}: FrameCache is closed")
        img = frame.image
        if img.shape[1] != self.width or img.shape[0] != self.height:
            # bilinear: the copy is at least half the size of the pose frames (960 of 1280 px)
            img = cv2.resize(img, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        if self._writer is None:
            self._writer = VideoWriter(
                self.path,
                self.width,
                self.height,
                fps_hint=self._fps_hint,
                crf=self._crf,
                preset="ultrafast",
                fast_convert=True,
            )
        self._writer.write(img, frame.time_s)
        self._index.append(int(frame.index))
        self._time.append(float(frame.time_s))
        return img

    def close(self) -> None:
        """Finish the file (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.close()

    def frames(self) -> Iterator[Frame]:
        """Decode the copy: every frame added, in order, with its original index and time."""
        self.close()
        if not self._index:
            return
        n = 0
        for frame in iter_frames(self.path, max_side_px=None):
            if n >= len(self._index):
                break
            yield Frame(index=self._index[n], time_s=self._time[n], image=frame.image, scale=self.scale)
            n += 1
        if n != len(self._index):
            raise OutputError(
                f"the temporary frame copy gave back {n} of {len(self._index)} frames", path=self.path
            )

    def remove(self) -> None:
        """Close and delete the file."""
        try:
            self.close()
        finally:
            self.path.unlink(missing_ok=True)


def transcode_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    hflip: bool = False,
    scale: float = 1.0,
    rotate_deg: int = 0,
    codec: str = "libx264",
    crf: int = 18,
) -> VideoInfo:
    """Re-encode a video, keeping every frame's timestamp; optionally mirror, rescale, tag.

    Parameters
    ----------
    src
        Input video (any format :func:`probe_video` accepts; rotation metadata is applied,
        audio is dropped).
    dst
        Output file, see :class:`VideoWriter` for the container.
    hflip
        Mirror the displayed picture left-right (the person's left becomes the image's
        right).
    scale
        Resize factor for the displayed picture, > 0; the output size is rounded to even
        numbers.
    rotate_deg
        Store the frames rotated with a display matrix that rotates them back (0, 90,
        180, 270 clockwise), like a phone does: the video *displays* the same, only the
        storage changes. ``probe_video(dst).rotation_deg == rotate_deg``.
    codec
        ``"libx264"`` or ``"libx265"``.
    crf
        Constant rate factor (0-51).

    Returns
    -------
    VideoInfo
        ``probe_video(dst)``.
    """
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not (math.isfinite(scale) and scale > 0)
    ):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    if rotate_deg not in (0, 90, 180, 270):
        raise ValueError(f"rotate_deg must be one of 0, 90, 180, 270, got {rotate_deg!r}")
    info = probe_video(src)
    if Path(dst).resolve() == info.path.resolve():
        raise ValueError(f"dst must differ from src, got {str(dst)!r} for both")
    out_w = max(2, round(info.width * scale) // 2 * 2)
    out_h = max(2, round(info.height * scale) // 2 * 2)
    if max(out_w, out_h) > MAX_SIDE_PX:
        raise ValueError(
            f"scale must keep the output within {MAX_SIDE_PX} px per side, got {scale!r} "
            f"({out_w}x{out_h} px from {info.width}x{info.height} px)"
        )
    with VideoWriter(
        dst, out_w, out_h, fps_hint=info.fps or 30.0, crf=crf, codec=codec, rotation_deg=rotate_deg
    ) as writer:
        for frame in _decode_frames(info, out_w, out_h, out_w / info.width):
            image = frame.image[:, ::-1] if hflip else frame.image
            writer.write(image, frame.time_s)
    return probe_video(dst)
