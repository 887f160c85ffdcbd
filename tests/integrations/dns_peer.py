"""A DNS server on loopback (UDP, a free port) answering TXT queries from a dict, built with
dnspython's own message parsing: the app's resolver talks real DNS to it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


@dataclass
class DnsPeer:
    address: str  # host:port, for SPIKELAND_DNS_NAMESERVER
    records: dict[str, list[str]] = field(default_factory=dict)  # name (no trailing dot) → TXT strings

    def publish(self, name: str, value: str) -> None:
        self.records.setdefault(name.rstrip(".").lower(), []).append(value)


def _answer(peer: DnsPeer, wire: bytes) -> bytes:
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    question = query.question[0]
    name = question.name.to_text().rstrip(".").lower()
    values = peer.records.get(name)
    if values is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
    elif question.rdtype == dns.rdatatype.TXT:
        rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, dns.rdatatype.TXT)
        for value in values:
            rrset.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, f'"{value}"'), ttl=60)
        response.answer.append(rrset)
    return response.to_wire()


@contextmanager
def run_dns_peer() -> Iterator[DnsPeer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    peer = DnsPeer(address=f"127.0.0.1:{sock.getsockname()[1]}")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, sender = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                sock.sendto(_answer(peer, wire), sender)
            except Exception:  # a malformed query: no answer, as a server would drop it
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        stop.set()
        thread.join(2)
        sock.close()
