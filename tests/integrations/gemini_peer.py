"""A real HTTP peer on loopback that answers Gemini's ``POST /v1beta/models/{model}:generateContent``
and records each request (path, headers, JSON body)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def model(self) -> str:
        return self.path.split("/models/", 1)[1].split(":", 1)[0]

    @property
    def parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = self.body["contents"][0]["parts"]
        return parts

    def images(self) -> list[bytes]:
        # The SDK sends URL-safe base64 (which the real API accepts as well as the standard alphabet).
        encoded = [p["inlineData"]["data"] for p in self.parts if "inlineData" in p]
        return [base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)) for data in encoded]

    def text(self) -> str:
        return "".join(p.get("text", "") for p in self.parts)

    @property
    def is_generation(self) -> bool:
        """An image generation request (an analysis asks for JSON text instead)."""
        return "responseModalities" in (self.body or {}).get("generationConfig", {})


def text_answer(text: str) -> tuple[int, Any]:
    return 200, {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}]
    }


def image_answer(image: bytes, mime_type: str = "image/png") -> tuple[int, Any]:
    data = base64.b64encode(image).decode()
    parts = [{"text": "Here is the enhanced image."}, {"inlineData": {"mimeType": mime_type, "data": data}}]
    return 200, {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}


def error_answer(status: int, message: str, reason: str) -> tuple[int, Any]:
    return status, {"error": {"code": status, "message": message, "status": reason}}


@dataclass
class GeminiPeer:
    url: str
    # Answers to give, in order, as (status, JSON body).
    answers: list[tuple[int, Any]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    # When set, gives every generateContent answer instead of ``answers``. It runs in the request's
    # thread, so it may block (a model that hangs) — until ``closing`` is set, when the peer stops.
    respond: Callable[[Received], tuple[int, Any]] | None = None
    closing: threading.Event = field(default_factory=threading.Event)


@contextmanager
def gemini_peer() -> Iterator[GeminiPeer]:
    peer: GeminiPeer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = Received(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
            peer.received.append(request)
            if not self.path.startswith("/v1beta/models/") or not self.path.endswith(":generateContent"):
                status, body = error_answer(404, f"unknown path {self.path}", "NOT_FOUND")
            elif peer.respond is not None:
                status, body = peer.respond(request)
            elif not peer.answers:
                status, body = error_answer(500, "the test gave no answer", "INTERNAL")
            else:
                status, body = peer.answers.pop(0)
            data = json.dumps(body).encode()
            if peer.delay:  # after taking the answer, so a late reply cannot take a later test's
                time.sleep(peer.delay)
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer = GeminiPeer(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.closing.set()
        server.shutdown()
        server.server_close()
        thread.join()
