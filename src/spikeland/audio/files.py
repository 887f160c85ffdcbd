"""What an uploaded audio file is, read from its content (libsndfile through ``soundfile``), never
from its name or the client's content type: the format, and the duration from its frames.

libsndfile reads WAV, FLAC, OGG (Vorbis, Opus) and MP3; WebM and AAC/M4A containers need an
ffmpeg-based reader and are refused for now (422 ``unsupported_audio``), as is anything that is no
audio at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import soundfile

from spikeland.core.errors import ValidationFailed

# libsndfile's major formats → the name stored in audio_tracks.fileFormat, and its content type.
FORMATS = {
    "WAV": ("wav", "audio/wav"),
    "WAVEX": ("wav", "audio/wav"),
    "RF64": ("wav", "audio/wav"),
    "FLAC": ("flac", "audio/flac"),
    "OGG": ("ogg", "audio/ogg"),
    "MP3": ("mp3", "audio/mpeg"),
}


class UnsupportedAudio(ValidationFailed):
    code = "unsupported_audio"


@dataclass(frozen=True)
class AudioInfo:
    format: str  # wav, flac, ogg, mp3
    content_type: str
    duration: float  # seconds
    sample_rate: int
    channels: int
    frames: int


PEAK_BUCKETS = 1000  # points of a waveform drawing, whatever the track's length


def peaks(source: BinaryIO, frames: int, buckets: int = PEAK_BUCKETS) -> list[list[float]]:
    """The waveform to draw: for each of ``buckets`` equal stretches of the audio, its lowest and
    highest sample over all channels (-1..1, 4 decimals). Read in blocks, never the whole track."""
    source.seek(0)
    per_bucket = max(1, -(-frames // buckets))  # ceiling
    found: list[list[float]] = []
    with soundfile.SoundFile(source) as audio:
        for block in audio.blocks(blocksize=per_bucket, dtype="float32", always_2d=True):
            found.append([round(float(block.min()), 4), round(float(block.max()), 4)])
    return found


def identify(source: BinaryIO) -> AudioInfo:
    """The audio in ``source`` (seekable; read from its start), or 422 ``unsupported_audio``."""
    source.seek(0)
    try:
        info = soundfile.info(source)
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        raise UnsupportedAudio(
            "The file is not audio this mixer reads (WAV, FLAC, OGG or MP3).", details={"readable": False}
        ) from None
    found = FORMATS.get(info.format)
    if found is None or info.frames <= 0 or info.samplerate <= 0:
        raise UnsupportedAudio(
            "The file is not audio this mixer reads (WAV, FLAC, OGG or MP3).", details={"format": info.format}
        )
    return AudioInfo(
        found[0], found[1], info.frames / info.samplerate, info.samplerate, info.channels, info.frames
    )
