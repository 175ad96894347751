"""Video probing, decoding, writing and transcoding (medius.io.video), on synthetic videos."""

from __future__ import annotations

import gc
import logging
import os
import re
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from _videos import (
    MIRRORED_CORNERS,
    UPRIGHT_CORNERS,
    atom_offsets,
    corner_colours,
    corrupt_sample,
    measured_white_square_x,
    scene_image,
    truncate_copy,
    white_square_x,
    write_audio_only,
    write_large_frame_video,
    write_rotated_by_tkhd,
    write_test_video,
    write_with_repeated_timestamps,
    write_without_keyframes,
    write_without_streams,
)
from medius.errors import InputNotFoundError, InvalidInputError, OutputError
from medius.io.video import (
    MAX_SIDE_PX,
    Frame,
    FrameCache,
    VideoInfo,
    VideoWriter,
    iter_frames,
    probe_video,
    transcode_video,
)

# irregular frame times (s): jitter, a dropped frame, a long gap
VFR_TIMES = [0.0, 0.031, 0.070, 0.101, 0.160, 0.193, 0.230, 0.330, 0.361, 0.400]


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("medius-video-decode")]


@pytest.fixture(autouse=True)
def _no_leaked_decode_threads():
    yield
    gc.collect()
    assert _decode_threads() == []


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    return {
        "h264": write_test_video(d / "h264.mp4", n_frames=12),
        "faststart": write_test_video(d / "faststart.mp4", n_frames=30, faststart=True),
        "moov_at_end": write_test_video(d / "moov_at_end.mp4", n_frames=30),
        "long_gop": write_test_video(d / "long_gop.mp4", n_frames=30, gop=300),
        "vfr": write_test_video(d / "vfr.mp4", times_s=VFR_TIMES),
    }


def _frames(path: Path, **kwargs) -> list[Frame]:
    return list(iter_frames(path, **kwargs))


# ------------------------------------------------------------------------ decoding


def test_probe_h264_mp4(videos):
    info = probe_video(videos["h264"])
    assert isinstance(info, VideoInfo)
    assert info.path == videos["h264"]
    assert "mp4" in info.container_format
    assert info.codec == "h264"
    assert (info.width, info.height) == (160, 96)
    assert (info.coded_width, info.coded_height) == (160, 96)
    assert info.rotation_deg == 0 and not info.is_mirrored
    assert info.n_frames == 12
    assert info.fps == pytest.approx(30.0, rel=1e-3)
    assert info.duration_s == pytest.approx(12 / 30, abs=0.04)
    assert not info.is_variable_frame_rate
    assert not info.has_audio
    assert info.pixel_format == "yuv420p"
    assert info.bit_depth == 8
    assert info.time_base == Fraction(1, 90000)


def test_iter_frames_h264_mp4_count_size_time_and_content(videos):
    frames = _frames(videos["h264"], max_side_px=None)
    assert [f.index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(12) / 30, atol=1e-3)
    assert frames[0].time_s == 0.0
    for i, f in enumerate(frames):
        assert f.image.shape == (96, 160, 3)
        assert f.image.dtype == np.uint8
        assert f.image.flags["C_CONTIGUOUS"]
        assert f.scale == 1.0
        assert corner_colours(f.image) == UPRIGHT_CORNERS
        assert measured_white_square_x(f.image) == pytest.approx(white_square_x(i, 12, 160, 96), abs=1.0)
    # colours survive the YUV round trip closely
    expected = scene_image(0, 12, 160, 96).astype(int)
    assert np.median(np.abs(frames[0].image.astype(int) - expected)) <= 3


def test_hevc_mov_decodes(tmp_path):
    path = write_test_video(tmp_path / "hevc.mov", n_frames=10, codec="libx265")
    info = probe_video(path)
    assert info.codec == "hevc"
    assert info.container_format.startswith("mov")
    assert (info.width, info.height, info.n_frames) == (160, 96, 10)
    frames = _frames(path)
    assert len(frames) == 10
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(10) / 30, atol=1e-3)
    assert all(corner_colours(f.image) == UPRIGHT_CORNERS for f in frames)


def test_matroska_with_millisecond_time_base(tmp_path):
    path = write_test_video(
        tmp_path / "vfr.mkv", times_s=VFR_TIMES, container_format="matroska", time_base=Fraction(1, 1000)
    )
    info = probe_video(path)
    assert info.n_frames is None or info.n_frames == len(VFR_TIMES)
    assert info.is_variable_frame_rate
    np.testing.assert_allclose([f.time_s for f in _frames(path)], VFR_TIMES, atol=1e-3)


# display_rotation_ccw (PyAV/FFmpeg convention) -> expected clockwise rotation_deg
@pytest.mark.parametrize(
    ("ccw", "hflip", "rotation_deg"),
    [(-90, False, 90), (90, False, 270), (180, False, 180), (90, True, 270)],
)
def test_rotation_metadata_gives_upright_portrait(tmp_path, ccw, hflip, rotation_deg):
    # displayed: portrait 96 x 160; stored: turned, landscape 160 x 96 (for 90/270)
    path = write_test_video(
        tmp_path / "phone.mp4",
        width=96,
        height=160,
        n_frames=6,
        display_rotation_ccw=ccw,
        display_hflip=hflip,
    )
    info = probe_video(path)
    assert info.rotation_deg == rotation_deg
    assert info.is_mirrored == hflip
    assert (info.width, info.height) == (96, 160)
    swap = rotation_deg in (90, 270)
    assert (info.coded_width, info.coded_height) == ((160, 96) if swap else (96, 160))
    frames = _frames(path)
    assert len(frames) == 6
    for i, f in enumerate(frames):
        assert f.image.shape == (160, 96, 3)
        assert corner_colours(f.image) == UPRIGHT_CORNERS
        assert measured_white_square_x(f.image) == pytest.approx(white_square_x(i, 6, 96, 160), abs=1.0)


def test_iphone_tkhd_matrix_rotates_90_clockwise(tmp_path):
    # the tkhd bytes an iPhone writes for a portrait recording, patched in by hand
    path = write_rotated_by_tkhd(tmp_path / "iphone.mp4", width=96, height=160)
    info = probe_video(path)
    assert info.rotation_deg == 90 and not info.is_mirrored
    assert (info.width, info.height, info.coded_width, info.coded_height) == (96, 160, 160, 96)
    frames = _frames(path)
    assert [f.image.shape for f in frames] == [(160, 96, 3)] * 6
    assert all(corner_colours(f.image) == UPRIGHT_CORNERS for f in frames)


def test_variable_frame_rate_times_are_kept(videos):
    info = probe_video(videos["vfr"])
    assert info.is_variable_frame_rate
    frames = _frames(videos["vfr"])
    np.testing.assert_allclose([f.time_s for f in frames], VFR_TIMES, atol=1e-3)
    # the content follows the frames (no reordering)
    for i, f in enumerate(frames):
        assert measured_white_square_x(f.image) == pytest.approx(
            white_square_x(i, len(VFR_TIMES), 160, 96), abs=1.0
        )


def test_long_constant_rate_video_with_b_frames_is_not_variable(tmp_path):
    # more packets than the PTS sample: B-frame reordering must not look like a gap
    path = tmp_path / "long.mp4"
    with VideoWriter(path, 160, 96, preset="veryfast") as writer:
        for i in range(200):
            writer.write(scene_image(i, 200, 160, 96), i / 30)
    info = probe_video(path)
    assert info.n_frames == 200
    assert not info.is_variable_frame_rate
    assert info.fps == pytest.approx(30.0, rel=1e-3)


def test_repeated_timestamps_are_dropped(tmp_path, caplog):
    path = write_with_repeated_timestamps(tmp_path / "dup.mkv", [0, 33, 33, 67, 100, 133])
    with caplog.at_level(logging.WARNING, logger="medius.io.video"):
        frames = _frames(path)
    assert [f.index for f in frames] == [0, 1, 3, 4, 5]
    np.testing.assert_allclose([f.time_s for f in frames], [0, 0.033, 0.067, 0.1, 0.133], atol=1e-6)
    assert "1 frame(s) with a repeated or decreasing timestamp were dropped" in caplog.text
    # index names the picture: frame 3 shows the square at its 4th position
    assert measured_white_square_x(frames[2].image) == pytest.approx(white_square_x(3, 6, 160, 96), abs=1.0)


def test_downscale_to_max_side(videos):
    frames = _frames(videos["h264"], max_side_px=80)
    assert all(f.image.shape == (48, 80, 3) for f in frames)
    assert all(f.scale == pytest.approx(0.5) for f in frames)
    assert corner_colours(frames[0].image) == UPRIGHT_CORNERS
    # white square centre scales with the image
    assert measured_white_square_x(frames[5].image) == pytest.approx(
        white_square_x(5, 12, 160, 96) * 0.5, abs=1.0
    )


def test_downscale_applies_to_the_displayed_long_side(tmp_path):
    path = write_test_video(tmp_path / "p.mp4", width=96, height=160, n_frames=3, display_rotation_ccw=-90)
    frames = _frames(path, max_side_px=80)
    assert frames[0].image.shape == (80, 48, 3)
    assert frames[0].scale == pytest.approx(0.5)
    assert corner_colours(frames[0].image) == UPRIGHT_CORNERS


def test_no_upscaling_when_smaller_than_max_side(videos):
    f = next(iter(iter_frames(videos["h264"], max_side_px=4096)))
    assert f.image.shape == (96, 160, 3) and f.scale == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_side_px": 0}, "max_side_px must be None or an integer >= 2, got 0"),
        ({"max_side_px": 12.5}, "max_side_px must be None or an integer >= 2, got 12.5"),
        ({"prefetch": 0}, "prefetch must be an integer >= 1, got 0"),
    ],
)
def test_iter_frames_rejects_bad_parameters(videos, kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        iter_frames(videos["h264"], **kwargs)


# -------------------------------------------------------------------------- threads


def test_early_break_leaves_no_decode_thread(videos):
    for seen, _frame in enumerate(iter_frames(videos["faststart"], prefetch=2), start=1):
        assert len(_decode_threads()) == 1
        if seen == 3:
            break
    gc.collect()
    assert _decode_threads() == []


def test_close_stops_the_decode_thread(videos):
    it = iter_frames(videos["faststart"], prefetch=1)
    assert _decode_threads() == []  # nothing starts before the first next()
    first = next(it)
    assert first.index == 0
    it.close()
    assert _decode_threads() == []


def test_consumer_exception_stops_the_decode_thread(videos):
    with pytest.raises(KeyError):
        for f in iter_frames(videos["faststart"], prefetch=1):
            if f.index == 2:
                raise KeyError("consumer failed")
    gc.collect()
    assert _decode_threads() == []


def test_prefetch_queue_stays_bounded(videos):
    it = iter_frames(videos["faststart"], prefetch=2)
    next(it)
    # the producer may run ahead by at most prefetch frames (+1 in hand)
    threading.Event().wait(0.3)
    gc.collect()  # count the frames alive, not garbage other tests left for the collector
    frame_refs = sum(isinstance(o, Frame) for o in gc.get_objects())
    assert frame_refs <= 2 + 2
    it.close()


# ------------------------------------------------------------------------ error paths


def test_missing_file(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(InputNotFoundError, match=re.escape(f"{path}: video file not found")):
        probe_video(path)


def test_directory(tmp_path):
    with pytest.raises(InputNotFoundError, match=re.escape(f"{tmp_path}: is a directory")):
        probe_video(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path, videos):
    path = tmp_path / "locked.mp4"
    path.write_bytes(videos["h264"].read_bytes())
    path.chmod(0)
    try:
        with pytest.raises(InputNotFoundError, match="cannot be read"):
            probe_video(path)
    finally:
        path.chmod(0o644)


def _make_bad_input(kind: str, tmp: Path, videos: dict[str, Path]) -> Path:
    if kind == "empty":
        (tmp / "empty.mp4").write_bytes(b"")
        return tmp / "empty.mp4"
    if kind == "text_named_mp4":
        (tmp / "notes.mp4").write_text("this is not a video\n" * 50)
        return tmp / "notes.mp4"
    if kind == "text_file":
        (tmp / "notes.txt").write_text("this is not a video\n" * 50)
        return tmp / "notes.txt"
    if kind == "png_image":
        cv2.imwrite(str(tmp / "photo.png"), np.full((40, 60, 3), 200, np.uint8))
        return tmp / "photo.png"
    if kind == "png_named_mp4":
        cv2.imwrite(str(tmp / "photo.png"), np.full((40, 60, 3), 200, np.uint8))
        (tmp / "photo.png").rename(tmp / "photo.mp4")
        return tmp / "photo.mp4"
    if kind == "audio_aac_mp4":
        return write_audio_only(tmp / "song.mp4")
    if kind == "audio_wav":
        return write_audio_only(tmp / "song.wav", codec="pcm_s16le", container_format="wav")
    if kind == "no_streams":
        return write_without_streams(tmp / "nostreams.mp4")
    if kind == "zero_frames":
        return write_without_keyframes(videos["h264"], tmp / "zero.mp4")
    if kind == "truncated_moov_at_end":
        return truncate_copy(videos["moov_at_end"], tmp / "cut.mp4", 0.6)
    if kind == "truncated_faststart":
        return truncate_copy(videos["faststart"], tmp / "cut_fs.mp4", 0.6)
    if kind == "raw_h264_without_timestamps":
        return write_test_video(tmp / "raw.h264", container_format="h264", n_frames=4)
    if kind == "too_large":
        return write_large_frame_video(tmp / "wide.mp4", width=MAX_SIDE_PX + 8)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("empty", "not a video: the file is empty"),
        ("text_named_mp4", "not a readable video: FFmpeg cannot open it"),
        ("text_file", "not a video: the file is a text file"),
        ("png_image", "not a video: the file is a still image"),
        ("png_named_mp4", "not a video: the file is a still image"),
        ("audio_aac_mp4", "not a video: an audio-only file"),
        ("audio_wav", "not a video: an audio-only file"),
        ("no_streams", "not a video: a container without a video stream"),
        ("zero_frames", "video has zero decodable frames"),
        ("truncated_moov_at_end", "not a readable video: FFmpeg cannot open it"),
        ("truncated_faststart", "file is truncated: frame \\d+ and later lie beyond its end"),
        ("raw_h264_without_timestamps", "video has no timestamps \\(a raw h264 stream"),
        ("too_large", f"frame is {MAX_SIDE_PX + 8}x16 px, larger than the {MAX_SIDE_PX} px .* re-encode"),
    ],
)
def test_invalid_inputs(tmp_path, videos, kind, match):
    path = _make_bad_input(kind, tmp_path, videos)
    with pytest.raises(InvalidInputError, match=re.escape(str(path)) + ": " + match) as err:
        probe_video(path)
    assert err.value.path == path
    assert err.value.exit_code == 4
    assert "\n" not in str(err.value)
    # iter_frames validates at call time, before any thread starts
    with pytest.raises(InvalidInputError):
        iter_frames(path)


def test_corrupt_data_mid_stream_raises_from_the_iterator(tmp_path, videos):
    path = corrupt_sample(videos["long_gop"], tmp_path / "corrupt.mp4", sample=15)
    probe_video(path)  # the damage is after the first frame: probe cannot see it
    got: list[Frame] = []
    with pytest.raises(
        InvalidInputError,
        match=re.escape(str(path)) + r": video decoding failed after frame \d+ "
        r"\(t = \d+\.\d{3} s\).*corrupt or truncated",
    ) as err:
        for f in iter_frames(path, prefetch=2):
            got.append(f)
    assert 5 <= len(got) < 30
    assert str(len(got) - 1) in str(err.value)
    gc.collect()
    assert _decode_threads() == []


# ---------------------------------------------------------------------------- writing


def test_video_writer_h264_faststart_and_timestamps(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoWriter(path, 161, 97, fps_hint=30.0) as writer:
        assert (writer.width, writer.height) == (160, 96)
        for i, t in enumerate(VFR_TIMES):
            writer.write(scene_image(i, len(VFR_TIMES), 161, 97), t)
    assert writer.frames_written == len(VFR_TIMES)
    atoms = atom_offsets(path)
    assert atoms["moov"] < atoms["mdat"]  # faststart: index first
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.codec_context.pix_fmt == "yuv420p"
    info = probe_video(path)
    assert (info.width, info.height) == (160, 96)
    frames = _frames(path)
    np.testing.assert_allclose([f.time_s for f in frames], VFR_TIMES, atol=1e-3)
    assert all(corner_colours(f.image) == UPRIGHT_CORNERS for f in frames)


def test_video_writer_rotation_metadata_round_trip(tmp_path):
    path = tmp_path / "rot.mp4"
    with VideoWriter(path, 96, 160, rotation_deg=90) as writer:
        for i in range(4):
            writer.write(scene_image(i, 4, 96, 160), i / 30)
    info = probe_video(path)
    assert info.rotation_deg == 90
    assert (info.width, info.height, info.coded_width, info.coded_height) == (96, 160, 160, 96)
    assert all(corner_colours(f.image) == UPRIGHT_CORNERS for f in _frames(path))


def test_video_writer_rejects_bad_frames(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", 160, 96) as writer:
        writer.write(scene_image(0, 2, 160, 96), 0.0)
        with pytest.raises(ValueError, match="time_s must increase strictly"):
            writer.write(scene_image(1, 2, 160, 96), 0.0)
        with pytest.raises(ValueError, match=re.escape("image_rgb must be a uint8 array of shape")):
            writer.write(np.zeros((96, 161, 3), np.uint8), 0.1)
        with pytest.raises(ValueError, match="time_s must be a finite number >= 0"):
            writer.write(scene_image(1, 2, 160, 96), float("nan"))
    with pytest.raises(ValueError, match=re.escape("rotation_deg must be one of 0, 90, 180, 270, got 45")):
        VideoWriter(tmp_path / "y.mp4", 160, 96, rotation_deg=45)


def test_video_writer_unwritable_path(tmp_path):
    path = tmp_path / "missing_dir" / "out.mp4"
    with pytest.raises(OutputError, match=re.escape(f"{path}: cannot create the video file")):
        VideoWriter(path, 160, 96)


# ------------------------------------------------------------------------ transcoding


def test_transcode_hflip_mirrors_the_picture(tmp_path, videos):
    info = transcode_video(videos["h264"], tmp_path / "mirror.mp4", hflip=True)
    assert (info.width, info.height, info.n_frames) == (160, 96, 12)
    frames = _frames(tmp_path / "mirror.mp4")
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(12) / 30, atol=1e-3)
    for i, f in enumerate(frames):
        assert corner_colours(f.image) == MIRRORED_CORNERS
        assert measured_white_square_x(f.image) == pytest.approx(
            159 - white_square_x(i, 12, 160, 96), abs=1.0
        )


def test_transcode_half_scale_keeps_vfr_times(tmp_path, videos):
    info = transcode_video(videos["vfr"], tmp_path / "half.mp4", scale=0.5)
    assert (info.width, info.height) == (80, 48)
    frames = _frames(tmp_path / "half.mp4")
    assert all(f.image.shape == (48, 80, 3) for f in frames)
    np.testing.assert_allclose([f.time_s for f in frames], VFR_TIMES, atol=1e-3)
    assert corner_colours(frames[0].image) == UPRIGHT_CORNERS


def test_transcode_rotation_changes_storage_not_display(tmp_path, videos):
    info = transcode_video(videos["h264"], tmp_path / "rot270.mp4", rotate_deg=270)
    assert info.rotation_deg == 270
    assert (info.width, info.height, info.coded_width, info.coded_height) == (160, 96, 96, 160)
    src = _frames(videos["h264"])
    out = _frames(tmp_path / "rot270.mp4")
    assert len(out) == len(src)
    for a, b in zip(src, out, strict=True):
        assert np.median(np.abs(a.image.astype(int) - b.image.astype(int))) <= 3


def test_transcode_rejects_bad_parameters(tmp_path, videos):
    with pytest.raises(ValueError, match=re.escape("scale must be a finite number > 0, got 0")):
        transcode_video(videos["h264"], tmp_path / "x.mp4", scale=0)
    with pytest.raises(ValueError, match=re.escape("rotate_deg must be one of 0, 90, 180, 270, got 45")):
        transcode_video(videos["h264"], tmp_path / "x.mp4", rotate_deg=45)
    with pytest.raises(
        ValueError, match=re.escape("scale must keep the output within 8192 px per side, got 60")
    ):
        transcode_video(videos["h264"], tmp_path / "x.mp4", scale=60)
    with pytest.raises(ValueError, match="dst must differ from src"):
        transcode_video(videos["h264"], videos["h264"])


# ------------------------------------------------------------------------ frame cache


def test_frame_cache_gives_back_every_frame_with_its_index_time_and_scale(tmp_path, videos):
    source = _frames(videos["vfr"], max_side_px=None)  # 160 x 96, irregular times
    # the pose pass may skip an index (a dropped frame): the copy keeps the source's numbering
    kept = [source[i] for i in (0, 1, 2, 4, 5, 6, 7, 8, 9)]
    cache = FrameCache(tmp_path / "copy.mkv", display_size=(320, 192), max_side_px=80)
    for f in kept:
        # frames as the pose pass has them: half the displayed size (scale 0.5)
        cache.add(Frame(index=f.index, time_s=f.time_s, image=f.image, scale=0.5))
    assert cache.n_frames == len(kept)
    back = list(cache.frames())
    assert [f.index for f in back] == [f.index for f in kept]
    assert [f.time_s for f in back] == [f.time_s for f in kept]  # exact, not container-rounded
    assert all(f.scale == pytest.approx(80 / 320) for f in back)
    assert all(f.image.shape == (48, 80, 3) for f in back)
    for f, g in zip(kept, back, strict=True):  # the same picture, resized, nearly lossless
        small = cv2.resize(f.image, (80, 48), interpolation=cv2.INTER_AREA).astype(int)
        assert np.median(np.abs(g.image.astype(int) - small)) <= 4
    cache.remove()
    assert not (tmp_path / "copy.mkv").exists()


def test_frame_cache_never_upscales_and_an_empty_copy_gives_nothing(tmp_path, videos):
    empty = FrameCache(tmp_path / "empty.mkv", display_size=(160, 96), max_side_px=960)
    assert list(empty.frames()) == []
    empty.remove()
    cache = FrameCache(tmp_path / "copy.mkv", display_size=(160, 96), max_side_px=960)
    for f in _frames(videos["h264"], max_side_px=None):
        cache.add(f)
    back = list(cache.frames())
    assert len(back) == 12 and back[0].image.shape == (96, 160, 3) and back[0].scale == 1.0
    with pytest.raises(ValueError, match="closed"):
        cache.add(back[0])
    cache.remove()


def test_frame_cache_says_when_frames_went_missing(tmp_path, videos):
    cache = FrameCache(tmp_path / "copy.mkv", display_size=(160, 96), max_side_px=960)
    for f in _frames(videos["h264"], max_side_px=None):
        cache.add(f)
    cache.close()
    truncate_copy(tmp_path / "copy.mkv", tmp_path / "cut.mkv", 0.5)
    os.replace(tmp_path / "cut.mkv", tmp_path / "copy.mkv")
    with pytest.raises((OutputError, InvalidInputError), match="copy.mkv"):
        list(cache.frames())


def test_fast_convert_matches_the_encoders_conversion(tmp_path):
    image = cv2.GaussianBlur(scene_image(3, 12, 160, 96), (5, 5), 1.5)
    decoded = {}
    for fast in (False, True):
        path = tmp_path / f"fast{fast}.mp4"
        with VideoWriter(path, 160, 96, crf=0, preset="ultrafast", fast_convert=fast) as writer:
            writer.write(image, 0.0)
        decoded[fast] = _frames(path, max_side_px=None)[0].image.astype(int)
    assert np.mean(np.abs(decoded[True] - decoded[False])) < 1.5
    assert np.median(np.abs(decoded[True] - image.astype(int))) <= 3


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two cores to compare with one")
def test_written_bytes_do_not_depend_on_the_cores_the_process_may_use(tmp_path):
    """x264's output depends on its thread count; the writer fixes it, so one core or two give the same file."""
    import hashlib
    import subprocess
    import sys

    code = (
        "import os, sys, numpy as np\n"
        "from medius.io.video import VideoWriter\n"
        "os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(',')})\n"
        "rng = np.random.default_rng(0)\n"
        "base = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)\n"
        "with VideoWriter(sys.argv[2], 640, 360, fps_hint=30, preset='superfast') as w:\n"
        "    for i in range(60):\n"
        "        w.write(np.roll(base, 3 * i, axis=1), i / 30)\n"
    )
    cores = sorted(os.sched_getaffinity(0))
    digests = []
    for allowed in ([cores[0]], cores):
        out = tmp_path / f"{len(allowed)}.mp4"
        subprocess.run([sys.executable, "-c", code, ",".join(map(str, allowed)), str(out)], check=True, timeout=120)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_single_thread_decoding_gives_the_same_frames_as_ffmpegs_threads(tmp_path, monkeypatch):
    """Frames up to 1080p are decoded on one thread (less CPU); the pictures are those of FFmpeg's threading."""
    import medius.io.video as video

    assert video.SINGLE_THREAD_DECODE_MAX_PIXELS >= 1920 * 1080  # phones' 1080p takes the one-thread path
    path = tmp_path / "scene.mp4"
    with VideoWriter(path, 320, 192, crf=18, preset="ultrafast") as writer:
        for i in range(24):  # moving content: P frames that refer to earlier ones
            writer.write(scene_image(i, 24, 320, 192), i / 30.0)
    counts: list[int] = []
    real_open = video._open_input

    class Spy:  # the decoder's thread count when demuxing starts
        def __init__(self, container):
            self.container = container

        def __enter__(self):
            self.container.__enter__()
            return self

        def __exit__(self, *exc):
            return self.container.__exit__(*exc)

        def __getattr__(self, name):
            return getattr(self.container, name)

        def demux(self, stream):
            counts.append(stream.codec_context.thread_count)
            return self.container.demux(stream)

    monkeypatch.setattr(video, "_open_input", lambda p: Spy(real_open(p)))
    one = _frames(path, max_side_px=None)
    assert counts[-1] == 1
    monkeypatch.setattr(video, "SINGLE_THREAD_DECODE_MAX_PIXELS", 0)
    threaded = _frames(path, max_side_px=None)
    assert counts[-1] != 1
    assert len(one) == len(threaded) == 24
    for a, b in zip(one, threaded, strict=True):
        assert (a.index, a.time_s) == (b.index, b.time_s)
        assert np.array_equal(a.image, b.image)
