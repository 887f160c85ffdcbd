"""Reading audio files whatever their format: what a file is (``identify``) and its samples in blocks
(``blocks``), never the whole file in memory.

Two readers: libsndfile (``soundfile``) for WAV, FLAC, OGG (Vorbis, Opus) and MP3 — exact frame
counts from the file; FFmpeg's decoders (PyAV) for WebM (Opus, Vorbis) and MP4/M4A (AAC, ALAC),
which libsndfile does not read. There the duration is counted by decoding the whole stream (the
container's own figure is an estimate in WebM), and cut to the duration the MP4 declares: an AAC
encoder pads its last frame, and those samples are not audio.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import av
import numpy as np
import soundfile

from spikeland.core.errors import ValidationFailed

# libsndfile's major formats → the name stored in audio_tracks.fileFormat, and its content type.
SNDFILE_FORMATS = {
    "WAV": ("wav", "audio/wav"),
    "WAVEX": ("wav", "audio/wav"),
    "RF64": ("wav", "audio/wav"),
    "FLAC": ("flac", "audio/flac"),
    "OGG": ("ogg", "audio/ogg"),
    "MP3": ("mp3", "audio/mpeg"),
}
# FFmpeg's demuxer names (it names a family, e.g. "mov,mp4,m4a,3gp,3g2,mj2") and the codecs this
# mixer takes in each.
FFMPEG_FORMATS = {
    "matroska,webm": ("webm", "audio/webm", {"opus", "vorbis"}),
    "mov,mp4,m4a,3gp,3g2,mj2": ("m4a", "audio/mp4", {"aac", "alac"}),
}
CONTENT_TYPES: dict[str, str] = {
    **dict(SNDFILE_FORMATS.values()),
    **{fmt: kind for fmt, kind, _ in FFMPEG_FORMATS.values()},
}
READABLE = "WAV, FLAC, OGG, MP3, WebM (Opus, Vorbis) or M4A (AAC, ALAC)"


class UnsupportedAudio(ValidationFailed):
    code = "unsupported_audio"


@dataclass(frozen=True)
class AudioInfo:
    format: str  # wav, flac, ogg, mp3, webm, m4a
    content_type: str
    duration: float  # seconds
    sample_rate: int
    channels: int
    frames: int
    reader: str  # "sndfile" or "ffmpeg"


def identify(source: BinaryIO) -> AudioInfo:
    """The audio in ``source`` (seekable; read from its start), or 422 ``unsupported_audio``."""
    source.seek(0)
    try:
        info = soundfile.info(source)
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        return _identify_ffmpeg(source)
    found = SNDFILE_FORMATS.get(info.format)
    if found is None or info.frames <= 0 or info.samplerate <= 0:
        raise _refused(format=info.format)
    rate, frames = info.samplerate, info.frames
    return AudioInfo(found[0], found[1], frames / rate, rate, info.channels, frames, "sndfile")


def _refused(**details: object) -> UnsupportedAudio:
    return UnsupportedAudio(f"The file is not audio this mixer reads ({READABLE}).", details=details)


def _identify_ffmpeg(source: BinaryIO) -> AudioInfo:
    refused = _refused(readable=False)
    source.seek(0)
    try:
        with av.open(source, mode="r") as container:
            known = FFMPEG_FORMATS.get(container.format.name)
            if known is None or not container.streams.audio:
                raise refused
            stream = container.streams.audio[0]
            if stream.codec_context.name not in known[2]:
                raise refused
            rate = stream.codec_context.sample_rate
            frames = sum(frame.samples for frame in container.decode(stream))
            frames = min(frames, _declared_frames(stream, rate) or frames)
            channels = stream.codec_context.channels
    except av.FFmpegError:
        raise refused from None
    if frames <= 0 or rate <= 0:
        raise refused
    return AudioInfo(known[0], known[1], frames / rate, rate, channels, frames, "ffmpeg")


def _declared_frames(stream: av.audio.stream.AudioStream, rate: int) -> int | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return round(float(stream.duration * stream.time_base) * rate)


def blocks(source: BinaryIO, info: AudioInfo, blocksize: int) -> Iterator[np.ndarray]:
    """The audio as float32 blocks of shape (frames, channels), ``blocksize`` frames each (the
    last may be shorter), ``info.frames`` in all."""
    source.seek(0)
    if info.reader == "sndfile":
        with soundfile.SoundFile(source) as audio:
            yield from audio.blocks(blocksize=blocksize, dtype="float32", always_2d=True)
        return
    yield from _rechunk(_ffmpeg_frames(source, info), blocksize, info.channels)


def _ffmpeg_frames(source: BinaryIO, info: AudioInfo) -> Iterator[np.ndarray]:
    left = info.frames
    with av.open(source, mode="r") as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            samples = frame.to_ndarray()  # planar: (channels, n); packed: (1, n·channels)
            samples = samples.T if frame.format.is_planar else samples.reshape(-1, info.channels)
            samples = _as_float32(samples)[:left]
            left -= len(samples)
            yield samples
            if left <= 0:
                return


def _as_float32(samples: np.ndarray) -> np.ndarray:
    if samples.dtype.kind == "f":
        return samples.astype(np.float32, copy=False)
    scale = float(np.iinfo(samples.dtype).max) + 1.0  # s16, s32
    return (samples.astype(np.float32) / scale).astype(np.float32, copy=False)


def _rechunk(parts: Iterator[np.ndarray], size: int, channels: int) -> Iterator[np.ndarray]:
    pending: list[np.ndarray] = []
    held = 0
    for part in parts:
        pending.append(part)
        held += len(part)
        if held < size:
            continue
        joined = np.concatenate(pending)
        cut = len(joined) - len(joined) % size
        for start in range(0, cut, size):
            yield joined[start : start + size]
        pending, held = [joined[cut:]], len(joined) - cut
    if held:
        yield np.concatenate(pending) if pending else np.zeros((0, channels), np.float32)
