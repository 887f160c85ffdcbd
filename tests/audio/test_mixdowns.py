"""Mixdowns: a project rendered by the job runner honours volume, mute and solo (checked in the
spectrum of the file it makes), resamples mixed rates, streams its progress, and is the owner's
only; files go with the mixdown, the project and the user."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import numpy as np
import soundfile
from fastapi import FastAPI

from spikeland.identity.models import UserRole
from tests.support.audio import tone
from tests.support.clients import parse_sse
from tests.support.fixtures import UserClient
from tests.support.images import runner_for, stored_files, work

API = "/api/v1/audio/projects"


async def _track(client: httpx.AsyncClient, project_id: str, data: bytes, name: str) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/audio/track-uploads/{project_id}", files={"file": (name, data, "application/octet-stream")}
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _level(samples: np.ndarray, rate: int, frequency: float) -> float:
    """The amplitude of ``frequency`` in the left channel (a Hann window; peak of the nearby bins)."""
    left = samples[:, 0]
    spectrum = np.abs(np.fft.rfft(left * np.hanning(len(left)))) / (len(left) / 4)
    at = round(frequency * len(left) / rate)
    return float(spectrum[at - 3 : at + 4].max())


async def _download(client: httpx.AsyncClient, url: str) -> tuple[np.ndarray, int]:
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    samples, rate = soundfile.read(io.BytesIO(answer.content), dtype="float32", always_2d=True)
    return samples, rate


async def test_a_muted_track_is_not_in_the_mixdown(app: FastAPI, user_client: UserClient) -> None:
    owner, owner_id = await user_client()
    project = (await owner.post(API, json={"name": "Two tones"})).json()
    low = await _track(owner, project["id"], tone(2.0, "WAV", "PCM_16", frequency=440), "low.wav")
    # Another rate (48 kHz, resampled to the mix's) and a longer track: the mix is 3 s at 48 kHz.
    high = await _track(owner, project["id"], tone(3.0, "FLAC", frequency=1000, rate=48_000), "high.flac")
    muted = await owner.patch(f"{API}/{project['id']}/tracks/{low['id']}", json={"muted": True})
    assert muted.status_code == 200

    asked = await owner.post(f"{API}/{project['id']}/mixdowns")
    assert asked.status_code == 202, asked.text
    mixdown = asked.json()
    assert (mixdown["status"], mixdown["progress"], mixdown["formats"]) == ("PENDING", 0, [])
    assert [t["id"] for t in mixdown["tracks"]] == [high["id"]]
    # Asking again while it waits is the same render, not a second one.
    again = (await owner.post(f"{API}/{project['id']}/mixdowns")).json()
    assert again["id"] == mixdown["id"]

    base = f"{API}/{project['id']}/mixdowns/{mixdown['id']}"
    stream = asyncio.create_task(owner.get(f"{base}/events"))
    await asyncio.sleep(0.3)  # subscribed before the worker starts
    await work(app)
    events = parse_sse((await asyncio.wait_for(stream, timeout=30)).text)
    stages = [data["stage"] for kind, data in events if kind == "stage" and data["status"] == "PROCESSING"]
    assert stages[0] == "fetching" and "mixing" in stages and stages[-1] == "storing"
    kind, last = events[-1]
    assert kind == "status" and last["status"] == "COMPLETED" and last["progress"] == 100
    assert last["sampleRate"] == 48_000 and abs(last["duration"] - 3.0) <= 0.010
    assert last["formats"] == ["wav", "mp3"]

    samples, rate = await _download(owner, f"{base}/file")
    assert rate == 48_000 and samples.shape[1] == 2 and abs(len(samples) / rate - 3.0) <= 0.010
    assert _level(samples, rate, 1000) > 0.45  # the tone's 0.5
    assert _level(samples, rate, 440) < 0.005  # the muted track: nothing
    mp3, mp3_rate = await _download(owner, f"{base}/file?format=mp3")
    assert mp3_rate == 48_000 and _level(mp3, mp3_rate, 1000) > 0.4 and _level(mp3, mp3_rate, 440) < 0.01

    # Another user sees none of it.
    stranger, _ = await user_client()
    for url in (base, f"{base}/file", f"{base}/events", f"{API}/{project['id']}/mixdowns"):
        assert (await stranger.get(url)).status_code == 404, url
    assert (await stranger.post(f"{API}/{project['id']}/mixdowns")).status_code == 404
    assert (await stranger.delete(base)).status_code == 404

    # The mixdown's files go with it.
    assert [k for k in stored_files(app, owner_id) if "/mixdowns/" in k]
    assert (await owner.delete(base)).status_code == 204
    assert not [k for k in stored_files(app, owner_id) if "/mixdowns/" in k]
    assert (await owner.get(base)).status_code == 404


async def test_solo_and_volume(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    project = (await owner.post(API, json={"name": "Solo"})).json()
    tracks = [
        await _track(owner, project["id"], tone(1.0, "WAV", "PCM_16", frequency=f), f"{f}.wav")
        for f in (300, 700, 1500)
    ]
    url = f"{API}/{project['id']}"
    await owner.patch(f"{url}/tracks/{tracks[0]['id']}", json={"solo": True, "volume": 0.5})
    await owner.patch(f"{url}/tracks/{tracks[1]['id']}", json={"solo": True, "muted": True})  # mute wins
    mixdown = (await owner.post(f"{url}/mixdowns")).json()
    assert [t["id"] for t in mixdown["tracks"]] == [tracks[0]["id"]]
    await work(app)
    samples, rate = await _download(owner, f"{url}/mixdowns/{mixdown['id']}/file")
    assert 0.23 < _level(samples, rate, 300) < 0.27  # half the tone's 0.5
    assert _level(samples, rate, 700) < 0.005 and _level(samples, rate, 1500) < 0.005

    # Without solo, the unmuted tracks sum.
    for track in tracks:
        await owner.patch(f"{url}/tracks/{track['id']}", json={"solo": False, "muted": False, "volume": 1.0})
    mixdown = (await owner.post(f"{url}/mixdowns")).json()
    await work(app)
    samples, rate = await _download(owner, f"{url}/mixdowns/{mixdown['id']}/file")
    assert all(_level(samples, rate, f) > 0.45 for f in (300, 700, 1500))
    assert float(np.abs(samples).max()) <= 1.0  # 1.5 at the peaks is clipped, never wrapped


async def test_what_cannot_be_mixed(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    project = (await owner.post(API, json={"name": "Nothing"})).json()
    url = f"{API}/{project['id']}/mixdowns"
    empty = await owner.post(url)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "nothing_to_mix"
    browser = await owner.post(
        f"{API}/{project['id']}/tracks/browser",
        json={"name": "Local", "fileFormat": "wav", "duration": 2.0, "fileSizeBytes": 1000},
    )
    refused = await owner.post(url)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "track_in_browser"
    assert refused.json()["error"]["details"]["trackIds"] == [browser.json()["id"]]
    await owner.patch(f"{API}/{project['id']}/tracks/{browser.json()['id']}", json={"muted": True})
    assert (await owner.post(url)).json()["error"]["code"] == "nothing_to_mix"
    assert (await owner.get(url)).json()["items"] == []


async def test_a_file_gone_fails_the_mixdown_with_the_reason(app: FastAPI, user_client: UserClient) -> None:
    owner, owner_id = await user_client()
    project = (await owner.post(API, json={"name": "Gone"})).json()
    await _track(owner, project["id"], tone(0.5, "WAV", "PCM_16"), "a.wav")
    mixdown = (await owner.post(f"{API}/{project['id']}/mixdowns")).json()
    for key in stored_files(app, owner_id):
        if key.endswith(".wav"):
            await app.state.storage.delete(key)
    await work(app)
    failed = (await owner.get(f"{API}/{project['id']}/mixdowns/{mixdown['id']}")).json()
    assert failed["status"] == "FAILED" and "a.wav" in failed["errorMessage"] and failed["formats"] == []
    missing = await owner.get(f"{API}/{project['id']}/mixdowns/{mixdown['id']}/file")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "mixdown_file_not_found"


async def test_two_workers_render_each_mixdown_once(app: FastAPI, user_client: UserClient) -> None:
    owner, owner_id = await user_client()
    asked = []
    for index in range(3):
        project = (await owner.post(API, json={"name": f"P{index}"})).json()
        await _track(owner, project["id"], tone(0.5, "WAV", "PCM_16", frequency=200 + 100 * index), "t.wav")
        asked.append((project["id"], (await owner.post(f"{API}/{project['id']}/mixdowns")).json()["id"]))
    runners = [runner_for(app), runner_for(app)]
    await asyncio.gather(*(runner.run_until_idle() for runner in runners))
    assert sum(runner.stats.completed for runner in runners) == 3
    for project_id, mixdown_id in asked:
        done = (await owner.get(f"{API}/{project_id}/mixdowns/{mixdown_id}")).json()
        assert done["status"] == "COMPLETED" and done["progress"] == 100
    assert len([k for k in stored_files(app, owner_id) if "/mixdowns/" in k]) == 6  # WAV + MP3 each

    # Deleting a project removes its mixdowns' files; deleting the user, everything of theirs.
    project_id = asked[0][0]
    assert (await owner.delete(f"{API}/{project_id}")).status_code == 204
    assert not [k for k in stored_files(app, owner_id) if project_id in k]
    assert stored_files(app, owner_id)
    boss, _ = await user_client(role=UserRole.ADMIN)
    assert (await boss.delete(f"/api/v1/admin/users/{owner_id}")).status_code == 204
    assert stored_files(app, owner_id) == []  # tracks, waveforms and mixdowns
