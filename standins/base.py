"""What every local HTTP stand-in shares; a concrete stand-in keeps only its wire format.

:class:`StandIn` owns the server (a ``ThreadingHTTPServer`` on 127.0.0.1, an ephemeral port by
default), its thread (``start``/``stop``, or ``with``), the request log, the fault queue and the
sending of answers, whole or cut short. A subclass implements :meth:`StandIn.route` (a
:class:`Request` in, a :class:`Response` out) and, where its service words errors its own way,
:meth:`StandIn.error`.

Faults are queued in order and each is used on the next ``times`` requests it matches
(:meth:`StandIn.inject` takes :class:`Fault` objects; :meth:`StandIn.fail` takes a path and
shorthands: an HTTP status, ``"truncate"``, ``"stall"``, ``"bad_page"``). Every request is
logged with what it was answered (``.requests``, ``.paths()``, ``.requests_to(path)``).

Two control endpoints, neither logged nor faulted, drive a stand-in run by hand:
``POST /_standin/faults`` with ``{"path": ..., "faults": [429, 503, "truncate", "stall"]}``,
and ``GET /_standin/requests``.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

CONTROL = "/_standin/"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SHORTHANDS = ("truncate", "stall", "bad_page")


@dataclass
class Request:
    """One request a stand-in received, and the status it was answered with."""

    method: str
    #: without the stand-in's prefix and the query string
    path: str
    params: dict[str, str] = field(default_factory=dict)
    #: as the client sent them (names in the client's case)
    headers: dict[str, str] = field(default_factory=dict)
    #: arrival, wall-clock epoch seconds (what X-RateLimit-Reset is measured in)
    at: float = field(default_factory=time.time)
    #: 0 until answered, and for a stalled request that never is
    status: int = 0

    def header(self, name: str, default: str = "") -> str:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), default)

    @property
    def user_agent(self) -> str:
        return self.header("User-Agent")


@dataclass
class Response:
    """What a stand-in answers: a status, a body, its type and any other headers."""

    status: int
    body: bytes = b""
    content_type: str | None = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """One injected misbehaviour, used on the next ``times`` requests it matches."""

    #: answer with this status (body: ``body`` or the stand-in's own error body) instead
    status: int | None = None
    #: headers added to that answer (e.g. Retry-After, X-RateLimit-Reset)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: wait this long before answering
    delay: float = 0.0
    #: never answer: wait ``delay`` (or the stand-in's ``stall_seconds``), then hang up
    stall: bool = False
    #: announce the whole body, send half of it, hang up
    truncate: bool = False
    #: a complete 200 answer whose body is the first half of the real one
    bad_page: bool = False
    #: only requests whose path starts with this ("": every request)
    path: str = ""
    #: None: any request; True: only follow-up pages (with the page token); False: only first
    follow_up: bool | None = None
    times: int = 1

    @classmethod
    def of(cls, spec: int | str | Fault, path: str = "") -> Fault:
        """A fault from a shorthand: an HTTP status (429 carries ``Retry-After: 0``),
        ``"truncate"``, ``"stall"`` or ``"bad_page"``; a :class:`Fault` is taken as it is."""
        if isinstance(spec, Fault):
            return spec if spec.path or not path else dataclasses.replace(spec, path=path)
        if isinstance(spec, str) and spec.isdigit():
            spec = int(spec)
        if isinstance(spec, int) and not isinstance(spec, bool) and 100 <= spec <= 599:
            headers = {"Retry-After": "0"} if spec == 429 else {}
            return cls(status=spec, headers=headers, path=path)
        if spec in SHORTHANDS:
            return cls(path=path, **{str(spec): True})
        raise ValueError(f"unknown fault {spec!r}")

    def matches(self, request: Request, page_param: str) -> bool:
        if self.times <= 0 or not request.path.startswith(self.path):
            return False
        return self.follow_up is None or self.follow_up == (page_param in request.params)


class StandIn:
    """A local HTTP server on a background thread; subclasses speak one service's format."""

    #: the thread's name and the Server header
    name = "stand-in"
    #: the query parameter that marks a follow-up page (for ``Fault.follow_up``)
    page_param = "page_token"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        #: how long a ``stall`` fault without a delay keeps the client waiting
        self.stall_seconds = 2.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- the wire format: what a subclass implements --
    def route(self, request: Request) -> Response:
        """The answer to a request (no fault involved)."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        """An error answer in the service's own format (used for injected statuses)."""
        return Response(status, message.encode(), "text/plain")

    # -- lifecycle --
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}{self.prefix}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve on the calling thread until Ctrl-C (``python -m standins.<name>``)."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls --
    def inject(self, *faults: Fault) -> None:
        """Queue faults; each is used on the next ``times`` requests it matches, in order."""
        with self._lock:
            self.faults.extend(faults)

    def fail(self, path: str, *faults: int | str | Fault) -> None:
        """Answer the next requests of ``path`` with these faults, in order (see
        :meth:`Fault.of` for the shorthands)."""
        self.inject(*(Fault.of(fault, path) for fault in faults))

    def reset(self) -> None:
        """Forget the queued faults and the logged requests."""
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- what the handler calls --
    def _arrived(self, request: Request) -> Fault | None:
        """Log the request; take the first queued fault that matches it."""
        with self._lock:
            self.requests.append(request)
            for fault in self.faults:
                if fault.matches(request, self.page_param):
                    fault.times -= 1
                    return fault
        return None

    def _answer(self, request: Request, fault: Fault | None) -> Response | None:
        """The answer to send (None: hang up without one), the fault applied."""
        if fault is not None and fault.stall:
            time.sleep(fault.delay or self.stall_seconds)
            return None
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            response = self.error(fault.status, f"injected HTTP {fault.status}")
            if fault.body is not None:
                response.body = fault.body
            response.headers.update(fault.headers)
        else:
            response = self.route(request)
        if fault is not None and fault.bad_page:
            body = response.body[: max(1, len(response.body) // 2)]
            response = dataclasses.replace(response, status=200, body=body)
        request.status = response.status
        return response


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = standin
        server_version = standin.name

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: StandIn

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass  # quiet: requests are in the stand-in's log

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        standin = self.owner
        path, _, query = self.path.partition("?")
        if path == CONTROL + "requests":
            with standin._lock:
                rows = [dataclasses.asdict(r) for r in standin.requests]
            self._send(Response(200, json.dumps(rows).encode(), "application/json"))
            return
        if standin.prefix and path.startswith(standin.prefix):
            path = path[len(standin.prefix) :] or "/"
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        request = Request(self.command, path, params, dict(self.headers.items()))
        fault = standin._arrived(request)
        response = standin._answer(request, fault)
        if response is None:  # stalled: the client timed out; hang up
            self.close_connection = True
            return
        self._send(response, truncate=fault is not None and fault.truncate)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        standin = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if self.path != CONTROL + "faults":
            self._send(standin.error(404, "Not Found"))
            return
        try:
            body = json.loads(data or b"{}")
            standin.fail(body["path"], *body.get("faults", []))
        except (ValueError, KeyError, TypeError) as exc:
            self._send(Response(400, str(exc).encode()))
            return
        self._send(Response(204))

    def _send(self, response: Response, truncate: bool = False) -> None:
        """Send an answer; ``truncate``: announce the whole body, send half, hang up."""
        body = response.body
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test): nothing to say
