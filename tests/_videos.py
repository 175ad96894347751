"""Small synthetic test videos written with PyAV (nothing is downloaded).

The scene (:func:`scene_image`) is drawn in the *displayed* (upright) frame:

* mid-grey background;
* a red square in the top-left corner, a green one in the top-right corner and a blue one
  in the bottom-left corner (the bottom-right corner stays grey), so every rotation and
  mirror of the picture is recognisable (:func:`corner_colours`);
* a white square that slides from left to right along the middle row, one known step
  per frame (:func:`white_square_x`), so frame order and timing are checkable.

When a video is written with rotation metadata the *stored* frames are the scene turned
the other way, so a correct reader shows the scene upright again.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GREY = (128, 128, 128)
RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
_NAMED = {"grey": GREY, "red": RED, "green": GREEN, "blue": BLUE}

#: the upright scene's corner colours, as returned by :func:`corner_colours`
UPRIGHT_CORNERS = {"top_left": "red", "top_right": "green", "bottom_left": "blue", "bottom_right": "grey"}
#: the same scene mirrored left-right
MIRRORED_CORNERS = {"top_left": "green", "top_right": "red", "bottom_left": "grey", "bottom_right": "blue"}

#: identity display matrix of an MP4 ``tkhd`` box (16.16 / 2.30 fixed point, big-endian)
TKHD_IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _marker_geometry(width: int, height: int) -> tuple[int, int]:
    side = min(width, height)
    return side // 4, max(2, side // 16)  # marker size, margin


def white_square_x(i: int, n_frames: int, width: int, height: int) -> float:
    """Centre x (px) of the sliding white square in frame ``i`` of ``n_frames``."""
    size, _ = _marker_geometry(width, height)
    travel = width - size - 16
    x0 = 8 + round(i * travel / max(1, n_frames - 1))
    return x0 + size / 2 - 0.5


def scene_image(i: int, n_frames: int, width: int, height: int) -> np.ndarray:
    """The upright scene for frame ``i``: ``(height, width, 3)`` uint8 RGB."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = GREY
    size, m = _marker_geometry(width, height)
    img[m : m + size, m : m + size] = RED
    img[m : m + size, width - m - size : width - m] = GREEN
    img[height - m - size : height - m, m : m + size] = BLUE
    x0 = round(white_square_x(i, n_frames, width, height) + 0.5 - size / 2)
    y0 = height // 2 - size // 2
    img[y0 : y0 + size, x0 : x0 + size] = WHITE
    return img


def corner_colours(image: np.ndarray) -> dict[str, str]:
    """Name of the colour (red/green/blue/grey) at each corner marker of an image."""
    h, w = image.shape[:2]
    size, m = _marker_geometry(w, h)
    lo, hi = m + size // 4, m + (3 * size) // 4
    patches = {
        "top_left": image[lo:hi, lo:hi],
        "top_right": image[lo:hi, w - hi : w - lo],
        "bottom_left": image[h - hi : h - lo, lo:hi],
        "bottom_right": image[h - hi : h - lo, w - hi : w - lo],
    }
    out = {}
    for corner, patch in patches.items():
        mean = patch.reshape(-1, 3).astype(float).mean(axis=0)
        out[corner] = min(_NAMED, key=lambda name: float(np.sum((mean - np.array(_NAMED[name])) ** 2)))
    return out


def measured_white_square_x(image: np.ndarray) -> float:
    """Centre x (px) of the white pixels in the middle band of an image."""
    h = image.shape[0]
    band = image[h // 2 - 2 : h // 2 + 2]
    cols = np.nonzero((band.min(axis=2) > 200).any(axis=0))[0]
    return float(cols.mean())


def write_test_video(
    path: Path,
    *,
    width: int = 160,
    height: int = 96,
    n_frames: int = 12,
    times_s: Sequence[float] | None = None,
    codec: str = "libx264",
    container_format: str | None = None,
    time_base: Fraction = Fraction(1, 90000),
    display_rotation_ccw: int | None = None,
    display_hflip: bool = False,
    faststart: bool = False,
    gop: int | None = None,
) -> Path:
    """Write the scene as a video whose *displayed* size is ``width`` x ``height``.

    ``display_rotation_ccw`` / ``display_hflip`` write a display matrix with PyAV's
    ``set_display_rotation`` (counter-clockwise degrees, mirror applied after the
    rotation); the stored frames are the scene transformed the inverse way, so a correct
    reader displays the upright scene. ``times_s`` defaults to 30 fps.
    """
    times = list(times_s) if times_s is not None else [i / 30 for i in range(n_frames)]
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", format=container_format, options=options) as container:
        stream = container.add_stream(codec, rate=30)
        rot = display_rotation_ccw or 0
        swap = rot % 180 != 0
        stream.width, stream.height = (height, width) if swap else (width, height)
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base
        opts = {"preset": "ultrafast" if codec == "libx264" else "fast", "crf": "18"}
        if codec == "libx265":
            opts["x265-params"] = "log-level=error"
        if gop is not None:
            stream.codec_context.gop_size = gop
        stream.codec_context.options = opts
        if display_rotation_ccw is not None or display_hflip:
            stream.set_display_rotation(rot, hflip=display_hflip)
        for i, t in enumerate(times):
            shown = scene_image(i, len(times), width, height)
            stored = shown[:, ::-1] if display_hflip else shown
            stored = np.rot90(stored, k=-(rot // 90))  # undo "rotate ccw" of the player
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(stored), format="rgb24")
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_rotated_by_tkhd(path: Path, *, width: int = 96, height: int = 160, n_frames: int = 6) -> Path:
    """A portrait video as an iPhone stores it, made without PyAV's display-matrix API.

    The frames are stored landscape (the upright scene turned 90 degrees
    counter-clockwise) and the MP4 ``tkhd`` matrix is patched to the iPhone portrait
    matrix ``[0 1 0; -1 0 0; h 0 1]`` ("rotate 90 degrees clockwise to display").
    """
    tmp = path.with_suffix(".stored.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = height, width
        stream.pix_fmt = "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast", "crf": "18"}
        for i in range(n_frames):
            stored = np.rot90(scene_image(i, n_frames, width, height), k=1)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(stored), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 30)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = bytearray(tmp.read_bytes())
    tmp.unlink()
    identity = b"".join(v.to_bytes(4, "big") for v in TKHD_IDENTITY)
    iphone = b"".join(
        v.to_bytes(4, "big", signed=True) for v in (0, 0x10000, 0, -0x10000, 0, 0, width << 16, 0, 0x40000000)
    )
    tkhd = data.find(b"tkhd")
    at = data.find(identity, tkhd)
    assert tkhd > 0 and 0 < at - tkhd < 100, "tkhd matrix not found"
    data[at : at + 36] = iphone
    path.write_bytes(bytes(data))
    return path


def write_audio_only(path: Path, *, codec: str = "aac", container_format: str = "mp4") -> Path:
    """A 0.5 s 440 Hz mono sine, no video stream."""
    rate = 44100
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        fmt = "s16" if codec.startswith("pcm_s16") else "fltp"
        n = 1024
        for k in range(rate // 2 // n):
            t = (np.arange(n) + k * n) / rate
            wave = 0.3 * np.sin(2 * np.pi * 440 * t)
            samples = (wave * 32767).astype(np.int16) if fmt == "s16" else wave.astype(np.float32)
            frame = av.AudioFrame.from_ndarray(samples[None, :], format=fmt, layout="mono")
            frame.sample_rate = rate
            frame.pts = k * n
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_without_keyframes(src: Path, dst: Path) -> Path:
    """Re-mux ``src`` dropping its keyframes: a video stream whose packets decode to nothing."""
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        for packet in inp.demux(s_in):
            if packet.dts is None or packet.is_keyframe:
                continue
            packet.stream = s_out
            out.mux(packet)
    return dst


def write_without_streams(path: Path) -> Path:
    """An MP4 whose video track never got a sample (the muxer drops it: no streams)."""
    container = av.open(str(path), mode="w", format="mp4")
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
    container.start_encoding()
    container.close()
    return path


def write_large_frame_video(path: Path, *, width: int = 8200, height: int = 16) -> Path:
    """One very wide frame (cheap: a few kB) to trip the maximum-size check."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
        frame.pts = 0
        frame.time_base = Fraction(1, 30)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def truncate_copy(src: Path, dst: Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of the bytes of ``src`` to ``dst``."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def corrupt_sample(src: Path, dst: Path, sample: int, seed: int = 0) -> Path:
    """Copy an MP4, overwriting the payload of sample ``sample`` with random bytes.

    The 4-byte NAL length prefix is kept so the container stays intact and only the
    decoder sees garbage.
    """
    with av.open(str(src)) as container:
        entries = [(e.pos, e.size) for e in container.streams.video[0].index_entries]
    pos, size = entries[sample]
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    data[pos + 4 : pos + size] = rng.integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def atom_offsets(path: Path) -> dict[str, int]:
    """Byte offset of each top-level MP4 box (atom) by type."""
    data = path.read_bytes()
    out: dict[str, int] = {}
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            size = len(data) - pos
        out.setdefault(kind, pos)
        if size < 8:
            break
        pos += size
    return out


def write_with_repeated_timestamps(path: Path, times_ms: Sequence[int]) -> Path:
    """Intra-only (MJPEG) Matroska whose packets carry exactly ``times_ms``, repeats allowed."""
    tb = Fraction(1, 1000)
    with av.open(str(path), mode="w", format="matroska") as container:
        stream = container.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuvj420p"
        stream.codec_context.time_base = tb
        for i, t in enumerate(times_ms):
            rgb = av.VideoFrame.from_ndarray(scene_image(i, len(times_ms), 160, 96), format="rgb24")
            frame = rgb.reformat(format="yuvj420p")
            frame.pts, frame.time_base = i, tb
            for packet in stream.encode(frame):
                packet.pts = packet.dts = t
                packet.time_base = tb
                container.mux(packet)
        container.mux(stream.encode(None))
    return path
