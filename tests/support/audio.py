"""Sound for the audio tests: a stereo sine tone encoded as a file."""

from __future__ import annotations

import io

import av
import numpy as np
import soundfile

RATE = 44_100
# Encoded with FFmpeg (PyAV): formats libsndfile does not write.
FFMPEG = {"WEBM": ("webm", "libopus", 48_000), "M4A": ("ipod", "aac", RATE)}


def samples(seconds: float, frequency: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def tone(
    seconds: float, fmt: str, subtype: str | None = None, frequency: float = 440.0, rate: int = RATE
) -> bytes:
    """``seconds`` of a sine at ``frequency`` (0: silence), stereo, as a ``fmt`` file: a libsndfile
    format (WAV, FLAC, OGG, MP3) at ``rate``, or WEBM (Opus, 48 kHz) / M4A (AAC)."""
    if fmt in FFMPEG:
        return _encode(seconds, frequency, *FFMPEG[fmt])
    mono = samples(seconds, frequency, rate)
    out = io.BytesIO()
    soundfile.write(out, np.column_stack([mono, mono]), rate, format=fmt, subtype=subtype)
    return out.getvalue()


def _encode(seconds: float, frequency: float, container: str, codec: str, rate: int) -> bytes:
    mono = samples(seconds, frequency, rate)
    out = io.BytesIO()
    with av.open(out, "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout="stereo")
        sample_format = stream.codec_context.format
        size = stream.codec_context.frame_size or 1024
        for start in range(0, len(mono), size):
            chunk = np.stack([mono[start : start + size]] * 2)  # planar: (channels, n)
            if not sample_format.is_planar:
                chunk = chunk.T.reshape(1, -1)
            if sample_format.name.startswith("s16"):
                chunk = (chunk * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(chunk, format=sample_format.name, layout="stereo")
            frame.sample_rate, frame.pts = rate, start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return out.getvalue()
