"""SEC's ticker -> CIK map (``company_tickers_exchange.json``), read through the shared client.

The file is ``{"fields": ["cik", "name", "ticker", "exchange"], "data": [[320193, "Apple
Inc.", "AAPL", "Nasdaq"], ...]}``; the older ``company_tickers.json`` (``{"0": {"cik_str":
..., "ticker": ..., "title": ...}}``) is read too. Tickers are in SEC's dash form (``BRK-B``,
``JPM-PD``) and are normalised by :mod:`equity_lake.symbols`. A ticker that cannot be read is
skipped and counted, never guessed.

``SEC_TICKERS_URL`` (default the SEC file) may also be a local path or ``file://`` URL. SEC
requires a ``User-Agent`` naming the caller with a contact address: ``SEC_USER_AGENT``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa

from equity_lake import symbols

DEFAULT_URL = "https://www.sec.gov/files/company_tickers_exchange.json"
#: SEC allows 10 requests/s per client in total; one file needs one request
RATE_PER_SECOND = 5.0

TICKERS = pa.schema(
    [
        ("symbol", pa.string()),
        ("cik", pa.string()),
        ("name", pa.string()),
        ("exchange", pa.string()),
    ]
)


class TickerFileError(ValueError):
    """The SEC ticker file is not in a shape we know; the message says what was found."""


@dataclass(frozen=True)
class TickerMap:
    table: pa.Table
    skipped: list[str]


def parse(document: object) -> TickerMap:
    """The decoded JSON of either SEC ticker file -> one row per readable ticker."""
    records: list[tuple[object, object, object, object]]
    if isinstance(document, dict) and "fields" in document and "data" in document:
        fields = document["fields"]
        try:
            idx = [fields.index(name) for name in ("cik", "name", "ticker", "exchange")]
        except (ValueError, AttributeError):
            raise TickerFileError(f"SEC ticker file has fields {fields!r}") from None
        records = [tuple(row[i] for i in idx) for row in document["data"]]  # type: ignore[misc]
    elif isinstance(document, dict) and all(isinstance(v, dict) for v in document.values()):
        records = [
            (v.get("cik_str"), v.get("title"), v.get("ticker"), None) for v in document.values()
        ]
    else:
        raise TickerFileError(
            f"SEC ticker file is a {type(document).__name__} without 'fields'/'data'"
        )
    rows: list[dict[str, object]] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for cik, name, ticker, exchange in records:
        try:
            symbol = symbols.normalize(str(ticker), "sec")
            cik_text = f"{int(cik):010d}"  # type: ignore[arg-type]
        except (symbols.SymbolError, TypeError, ValueError):
            skipped.append(str(ticker))
            continue
        if symbol in seen or len(cik_text) != 10:
            skipped.append(str(ticker))
            continue
        seen.add(symbol)
        rows.append({"symbol": symbol, "cik": cik_text, "name": name, "exchange": exchange or None})
    return TickerMap(pa.Table.from_pylist(rows, schema=TICKERS), skipped)


def fetch(location: str | None = None) -> TickerMap:
    """Download (or read) and parse the ticker file at ``location`` / ``SEC_TICKERS_URL``."""
    location = location or os.environ.get("SEC_TICKERS_URL") or DEFAULT_URL
    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        from equity_lake.sources.http import HttpClient

        agent = os.environ.get("SEC_USER_AGENT", "").strip()
        if not agent:
            raise TickerFileError(
                "SEC_USER_AGENT is not set: SEC requires a User-Agent naming you and a contact "
                "address, e.g. 'Example Research admin@example.com'"
            )
        base = f"{parsed.scheme}://{parsed.netloc}"
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        with HttpClient(
            base_url=base, headers={"User-Agent": agent}, rate_per_second=RATE_PER_SECOND
        ) as client:
            return parse(client.get_json(path))
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise TickerFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise TickerFileError(f"{path} is not valid JSON: {exc}") from None
    return parse(document)
