"""A track's waveform for drawing, computed once at upload and stored beside the file."""

from __future__ import annotations

from typing import BinaryIO

from spikeland.audio.decode import AudioInfo, blocks

PEAK_BUCKETS = 1000  # points of a waveform drawing, whatever the track's length


def peaks(source: BinaryIO, info: AudioInfo, buckets: int = PEAK_BUCKETS) -> list[list[float]]:
    """For each of ``buckets`` equal stretches of the audio, its lowest and highest sample over all
    channels (-1..1, 4 decimals). Read in blocks, never the whole track."""
    per_bucket = max(1, -(-info.frames // buckets))  # ceiling
    return [
        [round(float(block.min()), 4), round(float(block.max()), 4)]
        for block in blocks(source, info, per_bucket)
        if len(block)
    ]
