"""Mixdown speed: 4 tracks x 3 minutes rendered by ``audio.mix.render`` (what the ``audio.mixdown``
job runs in its thread), as a multiple of real time (the project's 180 s over the time taken).

Two sets of tracks: four 44.1 kHz WAVs (decoding is a copy: the mixing itself), and a mix of formats
and rates (WAV 44.1 kHz, FLAC 48 kHz, MP3 44.1 kHz, OGG Vorbis 48 kHz: decoders and the resampler
at work, the mix at 48 kHz). Each rendered with the MP3 beside the WAV (as the job does) and without.
The tracks are tones over noise, so the MP3 encoder has real work. No database: the job's own
bookkeeping (a few UPDATEs) is small beside this. Prints a table and writes
``benchmarks/results/audio_mixdown.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from ledger import save_report

from spikeland.audio.mix import Source, render

SECONDS = 180.0
SETS = {
    "4 x WAV 44.1 kHz": [("WAV", "PCM_16", 44_100)] * 4,
    "WAV, FLAC, MP3, OGG (44.1/48 kHz)": [
        ("WAV", "PCM_16", 44_100),
        ("FLAC", "PCM_16", 48_000),
        ("MP3", "MPEG_LAYER_III", 44_100),
        ("OGG", "VORBIS", 48_000),
    ],
}


def track(path: Path, fmt: str, subtype: str, rate: int, index: int) -> Path:
    generator = np.random.default_rng(index)
    with soundfile.SoundFile(path, "w", rate, 2, subtype=subtype, format=fmt) as out:
        for start in range(0, int(SECONDS * rate), rate):
            t = (start + np.arange(rate)) / rate
            tone = sum(0.15 * np.sin(2 * np.pi * f * (index + 1) * t) for f in (110, 220, 330))
            noise = generator.normal(0, 0.05, (rate, 2))
            out.write((noise + tone[:, None]).astype(np.float32))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, object]] = {}
    print(f"{'tracks':<36} {'outputs':<10} {'median s':>9} {'x real time':>12}   rounds={args.rounds}")
    with tempfile.TemporaryDirectory(prefix="spikeland-bench-") as tmp:
        folder = Path(tmp)
        for name, kinds in SETS.items():
            sources = [
                Source(track(folder / f"{name[:3]}-{i}.{fmt.lower()}", fmt, subtype, rate, i), 0.8)
                for i, (fmt, subtype, rate) in enumerate(kinds)
            ]
            for outputs, mp3 in (("WAV+MP3", True), ("WAV", False)):
                times = []
                for _ in range(args.rounds):
                    out = folder / "out"
                    out.mkdir(exist_ok=True)
                    started = time.perf_counter()
                    rendered = render(sources, out, lambda share: None, mp3=mp3)
                    times.append(time.perf_counter() - started)
                assert abs(rendered.duration - SECONDS) < 0.01
                median = statistics.median(times)
                results[f"{name} / {outputs}"] = {
                    "seconds": [round(t, 3) for t in times],
                    "median_s": round(median, 3),
                    "times_real_time": round(SECONDS / median, 1),
                    "sample_rate": rendered.sample_rate,
                }
                print(f"{name:<36} {outputs:<10} {median:>9.2f} {SECONDS / median:>12.1f}")
    save_report("audio_mixdown", {"tracks": 4, "seconds_each": SECONDS, "results": results}, load_before)


if __name__ == "__main__":
    main()
