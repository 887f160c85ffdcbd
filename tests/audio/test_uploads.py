"""Track uploads: sine tones in six formats identified by their content, their durations measured
from the audio to 10 ms; a text file named .wav is refused with nothing stored; another user's
project is 404."""

from __future__ import annotations

from fastapi import FastAPI

from tests.support.audio import tone
from tests.support.fixtures import UserClient

API = "/api/v1/audio"


def stored(app: FastAPI) -> set[str]:
    root = app.state.settings.data_dir / "storage"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def test_uploads_are_identified_by_their_content(app: FastAPI, user_client: UserClient) -> None:
    owner, owner_id = await user_client()
    project = (await owner.post(f"{API}/projects", json={"name": "Tones"})).json()
    upload = f"{API}/track-uploads/{project['id']}"
    cases = [
        ("a.wav", tone(1.5, "WAV", "PCM_16"), "wav", 1.5),
        ("b.flac", tone(2.25, "FLAC"), "flac", 2.25),
        ("c.ogg", tone(3.0, "OGG", "VORBIS"), "ogg", 3.0),
        ("d.mp3", tone(1.0, "MP3"), "mp3", 1.0),
        ("e.webm", tone(2.5, "WEBM"), "webm", 2.5),
        ("f.m4a", tone(1.75, "M4A"), "m4a", 1.75),
    ]
    for filename, data, fmt, seconds in cases:
        # The client's name and type say nothing: the content does.
        answer = await owner.post(
            upload,
            files={"file": (filename + ".bin", data, "application/octet-stream")},
            data={"name": filename},
        )
        assert answer.status_code == 201, answer.text
        track = answer.json()
        assert (track["name"], track["fileFormat"], track["storageType"]) == (filename, fmt, "R2")
        assert abs(track["duration"] - seconds) <= 0.010, (filename, track["duration"])
        assert track["fileSizeBytes"] == len(data)
    detail = (await owner.get(f"{API}/projects/{project['id']}")).json()
    assert [t["sortOrder"] for t in detail["tracks"]] == [0, 1, 2, 3, 4, 5]
    keys = {k for k in stored(app) if f"audio-projects/{project['id']}" in k}
    assert len(keys) == 12 and all(k.startswith(f"users/{owner_id}/") for k in keys)  # files, waveforms

    before = stored(app)
    fake = await owner.post(upload, files={"file": ("notes.wav", b"RIFF? no, just text\n" * 50, "audio/wav")})
    assert fake.status_code == 422 and fake.json()["error"]["code"] == "unsupported_audio"
    assert (
        stored(app) == before
        and len((await owner.get(f"{API}/projects/{project['id']}")).json()["tracks"]) == 6
    )

    # Each uploaded track has its waveform, drawn once: ~1000 [min, max] pairs within the tone's 0.5.
    wav = detail["tracks"][0]
    drawn = await owner.get(f"{API}/projects/{project['id']}/tracks/{wav['id']}/peaks")
    assert drawn.status_code == 200, drawn.text
    waveform = drawn.json()
    assert waveform["buckets"] == len(waveform["peaks"]) and 950 <= waveform["buckets"] <= 1000
    assert all(-0.51 <= low <= high <= 0.51 for low, high in waveform["peaks"])
    assert max(high for _, high in waveform["peaks"]) > 0.49

    # Deleting a track removes its file and waveform once committed; deleting the project, the rest.
    assert (await owner.delete(f"{API}/projects/{project['id']}/tracks/{wav['id']}")).status_code == 204
    assert not [k for k in stored(app) if wav["id"] in k]
    others = {k for k in stored(app) if f"audio-projects/{project['id']}" in k}
    assert len(others) == 10  # five files, five waveforms

    stranger, _ = await user_client()
    refused = await stranger.post(upload, files={"file": ("a.wav", cases[0][1], "audio/wav")})
    assert refused.status_code == 404
    assert (await owner.delete(f"{API}/projects/{project['id']}")).status_code == 204
    assert not [k for k in stored(app) if f"audio-projects/{project['id']}" in k]
