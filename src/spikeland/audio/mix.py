"""Rendering a mixdown: tracks (files on disk, each with its volume) summed into one stereo WAV,
and an MP3 of it where libsndfile has the encoder — blocking work, for a worker thread.

- Every track is brought to the highest sample rate among them (libsoxr, high quality, streamed:
  a resampler per track fed block by block) and to stereo (mono on both sides; of more than two
  channels the first two, front left and right in every common layout).
- The tracks are read side by side, a block at a time, and each mixed block is written at once:
  memory stays a few blocks per track, whatever the project's length.
- The master is clipped to -1..1 (as a DAW's master bus would be), then written as 16-bit PCM.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile
import soxr

from spikeland.audio.decode import AudioInfo, blocks, identify

BLOCK = 1 << 16  # frames per read and per write
MP3_RATES = {32_000, 44_100, 48_000}  # MPEG-1 Layer III rates: others get the WAV only
Progress = Callable[[float], None]  # 0..1


@dataclass(frozen=True)
class Source:
    path: Path
    volume: float  # 0..1


@dataclass(frozen=True)
class Rendered:
    sample_rate: int
    frames: int
    wav: Path
    mp3: Path | None

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def mp3_available() -> bool:
    return "MP3" in soundfile.available_formats()


def render(sources: Sequence[Source], out_dir: Path, progress: Progress, *, mp3: bool = True) -> Rendered:
    """Mix ``sources`` into ``out_dir``/mixdown.wav (and .mp3 unless ``mp3`` is False); ``progress``
    is told how far it got."""
    infos = []
    for source in sources:
        with source.path.open("rb") as handle:
            infos.append(identify(handle))
    rate = max(info.sample_rate for info in infos)
    length = max(math.ceil(info.frames * rate / info.sample_rate) for info in infos)
    wav = out_dir / "mixdown.wav"
    mp3_path = out_dir / "mixdown.mp3" if mp3 and mp3_available() and rate in MP3_RATES else None
    with contextlib.ExitStack() as stack:
        tracks = [
            _Track(stack.enter_context(source.path.open("rb")), source.volume, info, rate)
            for source, info in zip(sources, infos, strict=True)
        ]
        wav_out = stack.enter_context(soundfile.SoundFile(wav, "w", rate, 2, subtype="PCM_16", format="WAV"))
        encoder = stack.enter_context(_Mp3Encoder(mp3_path, rate)) if mp3_path is not None else None
        for start in range(0, length, BLOCK):
            bus = np.zeros((min(BLOCK, length - start), 2), np.float32)
            for track in tracks:
                track.add_into(bus)
            np.clip(bus, -1.0, 1.0, out=bus)
            wav_out.write(bus)
            if encoder is not None:
                encoder.put(bus)
            progress(min(start + BLOCK, length) / length)
    return Rendered(rate, length, wav, mp3_path)


class _Track:
    """One track as a stream at the mix's rate, in stereo, at its volume: ``add_into`` adds its next
    frames into a block of the bus (silence once it has ended)."""

    def __init__(self, handle: BinaryIO, volume: float, info: AudioInfo, rate: int) -> None:
        self.volume = np.float32(volume)
        self.resampler = (
            soxr.ResampleStream(info.sample_rate, rate, 2, dtype="float32", quality="HQ")
            if info.sample_rate != rate
            else None
        )
        self.reads = blocks(handle, info, BLOCK)
        self.held = np.zeros((0, 2), np.float32)
        self.ended = False

    def add_into(self, bus: np.ndarray) -> None:
        at = 0
        while at < len(bus):
            if not len(self.held):
                if self.ended:
                    return
                self.held = self._next()
                continue
            count = min(len(bus) - at, len(self.held))
            if self.volume == 1:
                bus[at : at + count] += self.held[:count]
            else:
                bus[at : at + count] += self.held[:count] * self.volume
            self.held, at = self.held[count:], at + count

    def _next(self) -> np.ndarray:
        block = next(self.reads, None)
        if block is None:
            self.ended = True
            tail = np.zeros((0, 2), np.float32)
            return self.resampler.resample_chunk(tail, last=True) if self.resampler else tail
        stereo = _stereo(block)
        return self.resampler.resample_chunk(stereo, last=False) if self.resampler else stereo


def _stereo(block: np.ndarray) -> np.ndarray:
    channels = block.shape[1]
    if channels == 2:
        return np.ascontiguousarray(block)
    if channels == 1:
        return np.repeat(block, 2, axis=1)
    return np.ascontiguousarray(block[:, :2])


class _Mp3Encoder:
    """LAME (through libsndfile) in a thread of its own, fed the mixed blocks as they come: the
    encoder, the slowest part, runs beside the mixing on another core (libsndfile's calls release
    the GIL). The queue is bounded, so a slow encoder holds the mixing back instead of the memory."""

    def __init__(self, path: Path, rate: int) -> None:
        self.output = soundfile.SoundFile(path, "w", rate, 2, subtype="MPEG_LAYER_III", format="MP3")
        self.blocks: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=8)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="mp3-encoder", daemon=True)
        self.thread.start()

    def put(self, block: np.ndarray) -> None:
        if self.failure is not None:
            raise self.failure
        self.blocks.put(block)

    def _run(self) -> None:
        try:
            while (block := self.blocks.get()) is not None:
                self.output.write(block)
        except BaseException as exc:  # handed to the mixing thread, which raises it
            self.failure = exc
            while self.blocks.get() is not None:  # drain, so the producer never blocks for good
                pass

    def __enter__(self) -> _Mp3Encoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.blocks.put(None)
        self.thread.join()
        self.output.close()
        if self.failure is not None and exc[0] is None:
            raise self.failure
