"""A tiny OpenAI-compatible chat-completions server for tests (loopback, deterministic).

Replies are a pure function of the request's last message, in each role's structured
format; ``fault_rate`` of the requests fail instead (timeout, 429, 500 or a garbage body),
drawn from a seeded generator.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reply_for(messages: list[dict]) -> str:
    """Deterministic role-shaped text for a request."""
    system = messages[0]["content"] if messages else ""
    h = int(hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:8], 16)
    letter = "ABCD"[h % 4]
    if "checker" in system:
        return (
            f"Looks {'fine' if h % 2 else 'off'}.\nVERDICT: {'CORRECT' if h % 2 else 'INCORRECT'}"
        )
    if "editor" in system:
        return f"Final.\nFINAL ANSWER: {letter}"
    return f"Step 1. Step 2.\nANSWER: {letter}"


class FakeServer:
    """Start with ``with FakeServer(fault_rate=0.2) as srv: srv.url``."""

    def __init__(self, fault_rate: float = 0.0, seed: int = 0, hang: float = 1.5) -> None:
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.hang = hang
        self.requests = 0
        self.faults: dict[str, int] = {}
        self.auth: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                outer.auth.add(self.headers.get("Authorization", ""))
                with outer.lock:
                    outer.requests += 1
                    fault = None
                    if outer.rng.random() < outer.fault_rate:
                        fault = outer.rng.choice(["timeout", "429", "500", "garbage"])
                        outer.faults[fault] = outer.faults.get(fault, 0) + 1
                if fault == "timeout":
                    time.sleep(outer.hang)
                    self._send(200, b"{}")
                    return
                if fault in ("429", "500"):
                    self._send(int(fault), json.dumps({"error": {"message": fault}}).encode())
                    return
                if fault == "garbage":
                    self._send(200, b"<html>\x00 not json at all")
                    return
                text = reply_for(body.get("messages", []))
                resp = {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                self._send(200, json.dumps(resp).encode())

            def _send(self, code: int, data: bytes) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
