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

Faults, the request log, the thread and the control endpoints come from
:class:`standins.base.StandIn`: e.g. ``standin.fail(path, 429, 503, "truncate", "stall")``
makes the next requests of a path fail in that order (429 carries ``Retry-After: 0``).

The folder holds ``companyfacts/`` and ``submissions/`` (searched recursively; files named
``CIK##########*.json`` or ``.json.gz``) and optionally ``errors/*404*.xml``. By default it is
the demo's own copy of real filings in ``standins/data/sec`` (Apple, Alphabet, Snowflake,
JPMorgan, Walmart).

Run it by hand from the repository root: ``python -m standins.edgar --port 8765 [--data DIR]``.
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
import uuid
import zipfile
from pathlib import Path

from standins.base import Request, Response, StandIn

DEMO_DATA = Path(__file__).resolve().parent / "data" / "sec"
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
_NOT_FOUND = b"<h1>Not Found</h1>"
_DATA_HEADERS = {
    "Cache-Control": "max-age=0, no-cache, no-store",
    "Pragma": "no-cache",
    "Vary": "Accept-Encoding",
    "Strict-Transport-Security": "max-age=31536000 ; preload",
}


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


class EdgarStandIn(StandIn):
    """EDGAR (data.sec.gov and www.sec.gov) on 127.0.0.1."""

    name = "EDGAR-stand-in"

    def __init__(
        self, data: str | Path = DEMO_DATA, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.documents = Documents(Path(data))
        super().__init__(host=host, port=port)

    def env(self) -> dict[str, str]:
        """The variables that point the EDGAR client here."""
        return {"SEC_DATA_URL": self.url, "SEC_WWW_URL": self.url}

    def route(self, request: Request) -> Response:
        if not request.user_agent.strip():
            return Response(403, _UNDECLARED, "text/html")
        docs = self.documents
        path = request.path
        gzip_ok = "gzip" in request.header("Accept-Encoding")
        match = COMPANYFACTS_PATH.match(path)
        if match and match.group(1) in docs.companyfacts:
            return self._json(docs.companyfacts[match.group(1)], gzip_ok)
        match = SUBMISSIONS_PATH.match(path)
        if match and match.group(1) in docs.submissions:
            return self._json(docs.submissions[match.group(1)], gzip_ok)
        match = INDEX_PATH.match(path)
        if match:
            day = dt.datetime.strptime(match.group(3), "%Y%m%d").date()
            text = docs.daily_index(day) if str(day.year) == match.group(1) else None
            if text is None:  # no filings that day
                return Response(404, _NOT_FOUND, "text/html")
            return Response(200, text.encode(), "text/plain")
        if path == ARCHIVE_PATH:
            return Response(200, docs.archive(), "application/zip")
        if path.startswith(("/api/", "/submissions/")):
            body = docs.not_found_template.format(key=path.lstrip("/")).encode()
            return Response(404, body, "application/xml")
        return Response(404, _NOT_FOUND, "text/html")

    def _json(self, file: Path, gzip_ok: bool) -> Response:
        body = self.documents.read(file, gzipped=gzip_ok)
        headers = {**_DATA_HEADERS, "x-amzn-RequestId": str(uuid.uuid4())}
        if gzip_ok:
            headers["Content-Encoding"] = "gzip"
        return Response(200, body, "application/json", headers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standins.edgar")
    parser.add_argument("--data", default=str(DEMO_DATA), help="folder of EDGAR documents")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = EdgarStandIn(args.data, args.host, args.port)
    print(f"EDGAR stand-in on {server.url} serving {args.data}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
