"""A local stand-in for SEC EDGAR, serving real EDGAR documents from a folder.

``make demo`` and the tests point ``SEC_DATA_URL`` and ``SEC_WWW_URL`` at it, so the EDGAR
client runs unchanged with no network and no account. It speaks EDGAR's wire format:

- ``GET /api/xbrl/companyfacts/CIK##########.json`` and ``GET /submissions/CIK....json``:
  the documents as EDGAR sent them, with data.sec.gov's headers (gzip when asked for);
- a path it has no document for: 404 with the S3 ``NoSuchKey`` XML body data.sec.gov sends;
- no User-Agent: 403, as EDGAR answers undeclared tools;
- ``GET /Archives/edgar/daily-index/{YYYY}/QTR{n}/master.{YYYYMMDD}.idx``: the day's filings
  in EDGAR's master index format, built from the filings the documents list; 404 on a day
  without filings;
- ``GET /Archives/edgar/daily-index/xbrl/companyfacts.zip``: the nightly bulk archive, built
  from the companyfacts it holds.

Faults for tests: :meth:`EdgarStandIn.inject` (or ``POST /_standin/faults`` with
``{"path": ..., "faults": [429, 503, "truncate", "stall"]}``) makes the next requests of a
path fail in that order. Every request is logged (``.requests``, ``GET /_standin/requests``).

The folder holds ``companyfacts/`` and ``submissions/`` (searched recursively; files named
``CIK##########*.json`` or ``.json.gz``) and optionally ``errors/*404*.xml``. By default it is
the demo's own copy of real filings (Apple, Alphabet, Snowflake, JPMorgan, Walmart).

Run it by hand: ``python -m equity_lake.edgar_standin --port 8765 [--data DIR]``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gzip
import io
import json
import re
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEMO_DATA = Path(__file__).resolve().parent / "demo_data" / "sec"
COMPANYFACTS_PATH = re.compile(r"^/api/xbrl/companyfacts/CIK(\d{10})\.json$")
SUBMISSIONS_PATH = re.compile(r"^/submissions/(CIK\d{10}(?:-submissions-\d{3})?\.json)$")
INDEX_PATH = re.compile(r"^/Archives/edgar/daily-index/(\d{4})/QTR([1-4])/master\.(\d{8})\.idx$")
ARCHIVE_PATH = "/Archives/edgar/daily-index/xbrl/companyfacts.zip"
_FILE = re.compile(r"^(CIK\d{10})(-submissions-\d{3})?.*?\.json(\.gz)?$")

_DEFAULT_404 = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The '
    "specified key does not exist.</Message><Key>{key}</Key><RequestId>JD15FR9DF9N2TVGZ"
    "</RequestId></Error>"
)
_UNDECLARED = (
    b"<html><head><title>SEC.gov | Request Rate Threshold Exceeded</title></head><body>"
    b"<h1>Your Request Originates from an Undeclared Automated Tool</h1><p>Please declare "
    b"your traffic by updating your user agent to include company specific information."
    b"</p></body></html>"
)
_DATA_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store",
    "Pragma": "no-cache",
    "Vary": "Accept-Encoding",
    "Strict-Transport-Security": "max-age=31536000 ; preload",
}


@dataclass(frozen=True)
class Request:
    """One request the stand-in answered."""

    at: float
    method: str
    path: str
    user_agent: str
    status: int


class Documents:
    """The EDGAR documents in a folder, read lazily and cached (raw and gzip bytes)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"EDGAR stand-in data folder {self.root} does not exist")
        self.companyfacts = self._scan("companyfacts", submissions=False)
        self.submissions = self._scan("submissions", submissions=True)
        errors = sorted((self.root / "errors").glob("*404*.xml"))
        self.not_found_template = (
            re.sub(r"<Key>.*?</Key>", "<Key>{key}</Key>", errors[0].read_text().strip())
            if errors
            else _DEFAULT_404
        )
        self._cache: dict[tuple[str, bool], bytes] = {}
        self._lock = threading.RLock()
        self._index: dict[dt.date, list[tuple[str, str, str, str]]] | None = None
        self._archive: bytes | None = None

    def _scan(self, folder: str, *, submissions: bool) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in sorted((self.root / folder).rglob("*.json*")):
            match = _FILE.match(path.name)
            if match is None:
                continue
            name = match.group(1) + (match.group(2) or "")
            if match.group(2) and not submissions:
                continue
            found.setdefault(f"{name}.json" if submissions else match.group(1)[3:], path)
        return found

    def read(self, path: Path, *, gzipped: bool) -> bytes:
        """The file's JSON bytes, gzip-compressed when ``gzipped``."""
        key = (str(path), gzipped)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        data = path.read_bytes()
        is_gz = path.suffix == ".gz"
        if gzipped and not is_gz:
            data = gzip.compress(data, compresslevel=5)
        elif not gzipped and is_gz:
            data = gzip.decompress(data)
        with self._lock:
            self._cache[key] = data
        return data

    def json(self, path: Path) -> dict:
        return json.loads(self.read(path, gzipped=False))

    def daily_index(self, day: dt.date) -> str | None:
        """EDGAR's ``master.YYYYMMDD.idx`` for ``day``, or None when nothing was filed."""
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
            rows = self._index.get(day)
        if not rows:
            return None
        header = [
            "Description:           Daily Index of EDGAR Dissemination Feed by CIK",
            f"Last Data Received:    {day:%B} {day.day}, {day.year}",
            "Comments:              webmaster@sec.gov",
            "Anonymous FTP:         ftp://ftp.sec.gov/edgar/",
            " ",
            " ",
            " ",
            "CIK|Company Name|Form Type|Date Filed|File Name",
            "-" * 80,
        ]
        lines = [
            f"{int(cik)}|{name}|{form}|{day:%Y%m%d}|edgar/data/{int(cik)}/{accn}.txt"
            for cik, name, form, accn in sorted(rows)
        ]
        return "\n".join(header + lines) + "\n"

    def _build_index(self) -> dict[dt.date, list[tuple[str, str, str, str]]]:
        filings: dict[tuple[str, str], tuple[dt.date, str, str]] = {}
        for cik, path in self.companyfacts.items():
            doc = self.json(path)
            name = str(doc.get("entityName") or "")
            for tags in (doc.get("facts") or {}).values():
                for body in tags.values():
                    for items in body.get("units", {}).values():
                        for f in items:
                            key = (cik, f["accn"])
                            if key not in filings:
                                filings[key] = (dt.date.fromisoformat(f["filed"]), name, f["form"])
        for file_name, path in self.submissions.items():
            doc = self.json(path)
            recent = doc.get("filings", {}).get("recent") or doc
            cik = file_name[3:13]
            name = str(doc.get("name") or "")
            for accn, form, filed in zip(
                recent.get("accessionNumber", []),
                recent.get("form", []),
                recent.get("filingDate", []),
                strict=False,
            ):
                filings.setdefault((cik, accn), (dt.date.fromisoformat(filed), name, form))
        by_day: dict[dt.date, list[tuple[str, str, str, str]]] = collections.defaultdict(list)
        for (cik, accn), (filed, name, form) in filings.items():
            by_day[filed].append((cik, name, form, accn))
        return dict(by_day)

    def archive(self) -> bytes:
        """companyfacts.zip: one ``CIK##########.json`` entry per company."""
        with self._lock:
            if self._archive is not None:
                return self._archive
        sink = io.BytesIO()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for cik, path in sorted(self.companyfacts.items()):
                zf.writestr(f"CIK{cik}.json", self.read(path, gzipped=False))
        with self._lock:
            self._archive = sink.getvalue()
            return self._archive


class EdgarStandIn:
    """The stand-in server, on a background thread."""

    def __init__(
        self, data: str | Path = DEMO_DATA, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.documents = Documents(Path(data))
        self.requests: list[Request] = []
        self.stall_seconds = 2.0
        self._faults: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """The variables that point the EDGAR client here."""
        return {"SEC_DATA_URL": self.url, "SEC_WWW_URL": self.url}

    def start(self) -> EdgarStandIn:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="edgar-stand-in", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EdgarStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, path: str, *faults: int | str) -> None:
        """Answer the next requests of ``path`` with these faults, in order: an HTTP status
        (429 carries ``Retry-After: 0``), ``"truncate"`` (half the body, then hang up) or
        ``"stall"`` (no answer for ``stall_seconds``, then hang up; logged with status 0)."""
        for fault in faults:
            if not (isinstance(fault, int) or fault in ("truncate", "stall")):
                raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._faults[path].extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def _next_fault(self, path: str) -> int | str | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def _log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(standin: EdgarStandIn) -> type[BaseHTTPRequestHandler]:
    docs = standin.documents

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "EDGAR-stand-in"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass  # quiet: requests are in standin.requests

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/_standin/faults":
                self._send(404, b"", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                standin.inject(body["path"], *body.get("faults", []))
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, str(exc).encode(), "text/plain")
                return
            self._send(204, b"", "text/plain")

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/_standin/requests":
                rows = [r.__dict__ for r in standin.requests]
                self._send(200, json.dumps(rows).encode(), "application/json")
                return
            agent = self.headers.get("User-Agent", "")
            if not agent.strip():
                self._finish(path, agent, 403, _UNDECLARED, "text/html")
                return
            fault = standin._next_fault(path)
            if fault == "stall":  # no answer at all: the client times out, then we hang up
                standin._log(Request(time.monotonic(), self.command, path, agent, 0))
                time.sleep(standin.stall_seconds)
                self.close_connection = True
                return
            if isinstance(fault, int):
                extra = {"Retry-After": "0"} if fault == 429 else {}
                text = f"injected HTTP {fault}".encode()
                self._finish(path, agent, fault, text, "text/plain", extra)
                return
            self._route(path, agent, truncate=fault == "truncate")

        def _route(self, path: str, agent: str, *, truncate: bool) -> None:
            gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
            match = COMPANYFACTS_PATH.match(path)
            if match and match.group(1) in docs.companyfacts:
                self._json(path, agent, docs.companyfacts[match.group(1)], gzip_ok, truncate)
                return
            match = SUBMISSIONS_PATH.match(path)
            if match and match.group(1) in docs.submissions:
                self._json(path, agent, docs.submissions[match.group(1)], gzip_ok, truncate)
                return
            match = INDEX_PATH.match(path)
            if match:
                day = dt.datetime.strptime(match.group(3), "%Y%m%d").date()
                text = docs.daily_index(day) if str(day.year) == match.group(1) else None
                if text is not None:
                    self._finish(path, agent, 200, text.encode(), "text/plain", truncate=truncate)
                    return
                self._finish(path, agent, 404, b"<h1>Not Found</h1>", "text/html")
                return
            if path == ARCHIVE_PATH:
                body = docs.archive()
                self._finish(path, agent, 200, body, "application/zip", truncate=truncate)
                return
            if path.startswith(("/api/", "/submissions/")):
                body = docs.not_found_template.format(key=path.lstrip("/")).encode()
                self._finish(path, agent, 404, body, "application/xml")
                return
            self._finish(path, agent, 404, b"<h1>Not Found</h1>", "text/html")

        def _json(self, path: str, agent: str, file: Path, gzip_ok: bool, truncate: bool) -> None:
            body = docs.read(file, gzipped=gzip_ok)
            headers = {**_DATA_HEADERS, "x-amzn-RequestId": str(uuid.uuid4())}
            if gzip_ok:
                headers["Content-Encoding"] = "gzip"
            self._finish(path, agent, 200, body, "application/json", headers, truncate)

        def _finish(
            self,
            path: str,
            agent: str,
            status: int,
            body: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
            truncate: bool = False,
        ) -> None:
            standin._log(Request(time.monotonic(), self.command, path, agent, status))
            self._send(status, body, content_type, headers, truncate)

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
            truncate: bool = False,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if truncate:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m equity_lake.edgar_standin")
    parser.add_argument("--data", default=str(DEMO_DATA), help="folder of EDGAR documents")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = EdgarStandIn(args.data, args.host, args.port)
    print(f"EDGAR stand-in on {server.url} serving {args.data}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
