"""Custom domains against a DNS server on loopback: a claim names the TXT record to publish; the
domain is attached only once the record is there; another app cannot take a verified domain; a
record for one app does not verify another; expired or forged values do not count."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from spikeland.app import create_app
from spikeland.settings import Settings
from tests.integrations.dns_peer import DnsPeer, run_dns_peer
from tests.support.auth import sign_in
from tests.support.clients import http_client

API = "/api/v1/apps"


@pytest.fixture(scope="module")
def dns_peer() -> Iterator[DnsPeer]:
    with run_dns_peer() as peer:
        yield peer


@pytest.fixture
async def dns_app(settings: Settings, dns_peer: DnsPeer, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        settings.model_copy(update={"dns_nameserver": dns_peer.address}), database_url=database_url
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_a_domain_is_attached_only_after_its_record_appears(
    dns_app: FastAPI, dns_peer: DnsPeer
) -> None:
    domain = f"sketch-{secrets.token_hex(4)}.example.org"
    async with http_client(dns_app) as owner, http_client(dns_app) as rival:
        await sign_in(owner, bare=True)
        await sign_in(rival, bare=True)
        body = {"name": "Sketch Pad", "monetizationModels": [{"type": "FREE"}]}
        app_id = (await owner.post(API, json=body)).json()["id"]
        rival_app = (await rival.post(API, json=body)).json()["id"]

        claim = await owner.post(f"{API}/{app_id}/domain", json={"domain": domain.upper() + "."})
        assert claim.status_code == 200, claim.text
        record = claim.json()
        assert (record["domain"], record["recordName"], record["recordType"]) == (
            domain,
            f"_spikeland.{domain}",
            "TXT",
        )
        early = await owner.post(f"{API}/{app_id}/domain/verify", json={"domain": domain})
        assert early.status_code == 409 and early.json()["error"]["code"] == "domain_not_verified"
        assert (await owner.get(f"{API}/{app_id}")).json()["domain"] is None

        # The rival publishes the owner's record for itself: it verifies only the owner's app.
        rival_claim = (await rival.post(f"{API}/{rival_app}/domain", json={"domain": domain})).json()
        dns_peer.publish(record["recordName"], "v=spf1 -all")  # other TXT strings are ignored
        dns_peer.publish(record["recordName"], record["recordValue"])
        assert (
            await rival.post(f"{API}/{rival_app}/domain/verify", json={"domain": domain})
        ).status_code == 409
        verified = await owner.post(f"{API}/{app_id}/domain/verify", json={"domain": domain})
        assert verified.status_code == 200 and verified.json()["domain"] == domain

        # Now it is taken: no claim, and no verification even with a valid record of the rival's own.
        taken = await rival.post(f"{API}/{rival_app}/domain", json={"domain": domain})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "domain_taken"
        dns_peer.publish(record["recordName"], rival_claim["recordValue"])
        again = await rival.post(f"{API}/{rival_app}/domain/verify", json={"domain": domain})
        assert again.status_code == 409 and again.json()["error"]["code"] == "domain_taken"

        # Released, the rival's own record verifies it for the rival.
        assert (await owner.delete(f"{API}/{app_id}/domain")).json()["domain"] is None
        moved = await rival.post(f"{API}/{rival_app}/domain/verify", json={"domain": domain})
        assert moved.status_code == 200 and moved.json()["domain"] == domain


async def test_bad_domains_forged_and_expired_records(dns_app: FastAPI, dns_peer: DnsPeer) -> None:
    async with http_client(dns_app) as owner:
        await sign_in(owner, bare=True)
        app_id = (await owner.post(API, json={"name": "Tiny Tool"})).json()["id"]
        for bad in (
            "localhost",
            "192.168.0.1",
            "-bad.example.org",
            "a..b.org",
            "x" * 64 + ".org",
            "exa mple.org",
        ):
            answer = await owner.post(f"{API}/{app_id}/domain", json={"domain": bad})
            assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_domain", bad
        domain = f"tool-{secrets.token_hex(4)}.example.net"
        claim = (await owner.post(f"{API}/{app_id}/domain", json={"domain": domain})).json()
        expires, _, signature = claim["recordValue"].removeprefix("spikeland-verify=").partition(".")
        dns_peer.publish(claim["recordName"], f"spikeland-verify={expires}.{'0' * 32}")  # forged
        dns_peer.publish(claim["recordName"], f"spikeland-verify=1000.{signature}")  # expired (and wrong)
        refused = await owner.post(f"{API}/{app_id}/domain/verify", json={"domain": domain})
        assert refused.status_code == 409 and refused.json()["error"]["details"]["found"] == 2
        assert (
            await owner.post(f"{API}/{app_id}/domain/verify", json={"domain": "nothing.example.com"})
        ).status_code == 409
