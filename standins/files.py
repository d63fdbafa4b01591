"""A local stand-in for a plain file host (nasdaqtrader.com's symbol directory, sec.gov/files).

It serves the bytes it was given (``add(path, file_or_bytes)``) over HTTP/1.1 on 127.0.0.1, and
404 for any other path. Faults, e.g. ``fail(path, "503", "truncate")``, and the request log
come from :class:`standins.base.StandIn`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from standins.base import Request, Response, StandIn


class FileServer(StandIn):
    """Static files on 127.0.0.1."""

    name = "file-stand-in"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.files: dict[str, bytes] = {}

    def add(self, path: str, source: Path | bytes) -> None:
        """Serve ``source`` (a file or its bytes) at ``path``."""
        self.files[path] = source if isinstance(source, bytes) else source.read_bytes()

    def route(self, request: Request) -> Response:
        body = self.files.get(request.path)
        if body is None:
            return Response(404, b"<html>Not Found</html>", "text/html")
        kind = mimetypes.guess_type(request.path)[0] or "application/octet-stream"
        return Response(200, body, kind)
