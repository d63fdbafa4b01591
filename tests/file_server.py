"""A local HTTP server serving real fixture files, with faults, for the directory and SEC tests.

It speaks plain HTTP/1.1 on 127.0.0.1 (what nasdaqtrader.com and sec.gov speak to a client)
and can be told to answer a path's next requests with a 5xx, a 404 or a body cut short after
its Content-Length was announced. It records every request's path and headers.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.servers import free_port


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                server.requests.append((path, dict(self.headers.items())))
                fault = server.faults[path].popleft() if server.faults[path] else None
                body = server.files.get(path)
                if fault == "503" or fault == "500":
                    self._send(int(fault), b"unavailable")
                elif body is None or fault == "404":
                    self._send(404, b"<html>Not Found</html>")
                elif fault == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                else:
                    self._send(200, body)

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def add(self, path: str, source: Path | bytes) -> None:
        self.files[path] = source if isinstance(source, bytes) else source.read_bytes()

    def fail(self, path: str, *faults: str) -> None:
        self.faults[path].extend(faults)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
