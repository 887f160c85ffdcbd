"""Sound for the audio tests: a stereo sine tone encoded as a file."""

from __future__ import annotations

import io

import numpy as np
import soundfile

RATE = 44_100


def tone(seconds: float, fmt: str, subtype: str | None = None, frequency: float = 440.0) -> bytes:
    """``seconds`` of a sine at ``frequency`` (0: silence), at 44.1 kHz, as a ``fmt`` file."""
    t = np.arange(int(seconds * RATE)) / RATE
    samples = (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    out = io.BytesIO()
    soundfile.write(out, np.column_stack([samples, samples]), RATE, format=fmt, subtype=subtype)
    return out.getvalue()
