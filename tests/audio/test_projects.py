"""Audio mixer projects and tracks over HTTP, owner only: projects newest first; browser (OPFS)
tracks registered by metadata, last in order; settings bounded; the order set as a whole; another
user's project or track is 404; deleting a project takes its tracks."""

from __future__ import annotations

from tests.support.fixtures import UserClient

API = "/api/v1/audio/projects"


def _track(name: str, seconds: float = 12.5) -> dict[str, object]:
    return {"name": name, "fileFormat": "wav", "duration": seconds, "fileSizeBytes": 44100 * 2 * int(seconds)}


async def test_projects_and_tracks(user_client: UserClient) -> None:
    owner, _ = await user_client()
    first = (await owner.post(API, json={"name": "Demo"})).json()
    second = await owner.post(API, json={"name": "Album cut", "description": "Side A"})
    assert second.status_code == 201, second.text
    listed = [p["name"] for p in (await owner.get(API)).json()["items"]]
    assert listed[:2] == ["Album cut", "Demo"]  # newest first

    tracks = []
    for name in ("drums", "bass", "keys"):
        made = await owner.post(f"{API}/{first['id']}/tracks/browser", json=_track(name))
        assert made.status_code == 201, made.text
        tracks.append(made.json())
    assert [(t["sortOrder"], t["storageType"], t["volume"]) for t in tracks] == [
        (0, "OPFS", 1.0),
        (1, "OPFS", 1.0),
        (2, "OPFS", 1.0),
    ]
    drums, bass, keys = (t["id"] for t in tracks)
    changed = await owner.patch(f"{API}/{first['id']}/tracks/{bass}", json={"volume": 0.4, "solo": True})
    assert (changed.json()["volume"], changed.json()["solo"]) == (0.4, True)
    for wrong in ({"volume": 1.5}, {"volume": -0.1}, {"name": ""}, {"muted": "yes"}):
        assert (await owner.patch(f"{API}/{first['id']}/tracks/{bass}", json=wrong)).status_code == 422

    ordered = await owner.put(f"{API}/{first['id']}/tracks/order", json={"trackIds": [keys, drums, bass]})
    assert [t["name"] for t in ordered.json()] == ["keys", "drums", "bass"]
    partial = await owner.put(f"{API}/{first['id']}/tracks/order", json={"trackIds": [keys, drums]})
    assert partial.status_code == 422 and partial.json()["error"]["code"] == "invalid_order"
    detail = (await owner.get(f"{API}/{first['id']}")).json()
    assert [t["name"] for t in detail["tracks"]] == ["keys", "drums", "bass"]

    stranger, _ = await user_client()
    assert (await stranger.get(f"{API}/{first['id']}")).status_code == 404
    assert (
        await stranger.patch(f"{API}/{first['id']}/tracks/{bass}", json={"muted": True})
    ).status_code == 404
    assert (await stranger.delete(f"{API}/{first['id']}")).status_code == 404

    assert (await owner.delete(f"{API}/{first['id']}/tracks/{drums}")).status_code == 204
    assert [t["name"] for t in (await owner.get(f"{API}/{first['id']}")).json()["tracks"]] == ["keys", "bass"]
    assert (await owner.delete(f"{API}/{first['id']}")).status_code == 204
    assert (await owner.get(f"{API}/{first['id']}")).status_code == 404
    gone = await owner.patch(f"{API}/{first['id']}/tracks/{bass}", json={"muted": True})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "audio_project_not_found"
