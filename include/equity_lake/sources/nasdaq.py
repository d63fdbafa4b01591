"""The ``nasdaq`` source: Nasdaq Trader's symbol directory, the no-WRDS list of what is listed.

Two pipe-delimited files describe every security listed on a US exchange on the day they were
written: ``nasdaqlisted.txt`` (Nasdaq) and ``otherlisted.txt`` (NYSE, NYSE American, NYSE
Arca, Cboe BZX, IEX, ...). Their layout changed over time and both layouts are read:

* ``nasdaqlisted.txt``: ``Symbol|Security Name|Market Category|Test Issue|Financial Status|
  Round Lot Size`` (2014), plus ``|ETF|NextShares`` (2016 on);
* ``otherlisted.txt``: ``ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|
  Test Issue|NASDAQ Symbol``.

Each file ends with a ``File Creation Time: MMDDYYYYHH:MM`` line, padded with a number of
pipes that does not always match the header (2016 has fewer), so the footer is recognised by
its text, not by its shape. A file without that footer is truncated and refused. Test issues
are dropped; ETFs are flagged; symbols are normalised by :mod:`equity_lake.symbols` (from the
CQS column for ``otherlisted.txt``, the most explicit of its three spellings).

Where the files come from is ``NASDAQ_TRADER_URL``: an ``http(s)://`` base URL (default
https://www.nasdaqtrader.com/dynamic/SymDir/) fetched through the shared HTTP client, or a
local directory (a path or ``file://`` URL) holding both files.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa

from equity_lake import symbols

DEFAULT_URL = "https://www.nasdaqtrader.com/dynamic/SymDir/"
FILES = ("nasdaqlisted.txt", "otherlisted.txt")

#: otherlisted.txt "Exchange" codes -> the exchange names the master uses
EXCHANGES = {
    "A": "NYSE American",
    "N": "NYSE",
    "P": "NYSE Arca",
    "Z": "Cboe BZX",
    "V": "IEX",
    "M": "NYSE Chicago",
}
NASDAQ = "NASDAQ"

LISTINGS = pa.schema(
    [
        ("symbol", pa.string()),
        ("security_name", pa.string()),
        ("exchange", pa.string()),
        ("is_etf", pa.bool_()),
        ("file_symbol", pa.string()),
        ("file", pa.string()),
    ]
)

_FOOTER = re.compile(r"^File Creation Time: (\d{2})(\d{2})(\d{4})(\d{2}):(\d{2})")
_REQUIRED = {
    "nasdaqlisted.txt": ("Symbol", "Security Name", "Test Issue"),
    "otherlisted.txt": ("ACT Symbol", "Security Name", "Exchange", "CQS Symbol", "Test Issue"),
}


class DirectoryError(ValueError):
    """A symbol directory file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Snapshot:
    """One day's directory: the listings and the day the files were written."""

    day: dt.date
    created: dt.datetime
    listings: pa.Table
    test_issues: int


def parse_file(name: str, text: str) -> tuple[dt.datetime, list[dict[str, object]], int]:
    """Rows (test issues dropped) and creation time of one directory file."""
    if name not in _REQUIRED:
        raise DirectoryError(f"unknown symbol directory file {name!r}; expected {FILES}")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DirectoryError(f"{name} is empty")
    header = lines[0].split("|")
    missing = [c for c in _REQUIRED[name] if c not in header]
    if missing:
        raise DirectoryError(f"{name}: header lacks column(s) {', '.join(missing)}: {lines[0]!r}")
    footer = _FOOTER.match(lines[-1])
    if not footer:
        raise DirectoryError(
            f"{name} has no 'File Creation Time' footer (last line {lines[-1][:60]!r}): "
            "the file is truncated"
        )
    month, day, year, hour, minute = (int(g) for g in footer.groups())
    try:
        created = dt.datetime(year, month, day, hour, minute)
    except ValueError:
        raise DirectoryError(f"{name}: bad creation time in footer {lines[-1]!r}") from None
    col = {c: i for i, c in enumerate(header)}
    rows: list[dict[str, object]] = []
    tests = 0
    for number, line in enumerate(lines[1:-1], start=2):
        fields = line.split("|")
        if len(fields) != len(header):
            raise DirectoryError(
                f"{name} line {number}: {len(fields)} fields, expected {len(header)}: {line[:80]!r}"
            )
        if fields[col["Test Issue"]] == "Y":
            tests += 1
            continue
        rows.append(_row(name, fields, col, number))
    return created, rows, tests


def _row(name: str, fields: list[str], col: dict[str, int], number: int) -> dict[str, object]:
    etf = fields[col["ETF"]] if "ETF" in col else ""
    try:
        if name == "nasdaqlisted.txt":
            raw = fields[col["Symbol"]]
            symbol, exchange = symbols.normalize(raw, "nasdaq"), NASDAQ
        else:
            raw = fields[col["CQS Symbol"]]
            code = fields[col["Exchange"]]
            symbol, exchange = symbols.normalize(raw, "cqs"), EXCHANGES.get(code, code)
    except symbols.SymbolError as exc:
        raise DirectoryError(f"{name} line {number}: {exc}") from None
    return {
        "symbol": symbol,
        "security_name": " ".join(fields[col["Security Name"]].split()),
        "exchange": exchange,
        "is_etf": {"Y": True, "N": False}.get(etf),
        "file_symbol": raw,
        "file": name,
    }


def parse(texts: dict[str, str], day: dt.date | None = None) -> Snapshot:
    """Both files' text -> one snapshot; the files must have been written the same day."""
    created_at: dict[str, dt.datetime] = {}
    rows: list[dict[str, object]] = []
    tests = 0
    for name in FILES:
        if name not in texts:
            raise DirectoryError(f"symbol directory lacks {name}")
        created, file_rows, file_tests = parse_file(name, texts[name])
        created_at[name] = created
        rows.extend(file_rows)
        tests += file_tests
    days = {c.date() for c in created_at.values()}
    if len(days) != 1:
        raise DirectoryError(
            "nasdaqlisted.txt and otherlisted.txt were written on different days "
            f"({', '.join(f'{n}: {c:%Y-%m-%d}' for n, c in created_at.items())}); fetch both again"
        )
    table = pa.Table.from_pylist(rows, schema=LISTINGS)
    dupes = _duplicates(table)
    if dupes:
        raise DirectoryError(f"symbol(s) listed twice in the directory: {', '.join(dupes[:10])}")
    created = max(created_at.values())
    return Snapshot(day=day or created.date(), created=created, listings=table, test_issues=tests)


def _duplicates(table: pa.Table) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for symbol in table.column("symbol").to_pylist():
        if symbol in seen:
            dupes.append(symbol)
        seen.add(symbol)
    return dupes


def fetch_texts(location: str | None = None) -> dict[str, str]:
    """The two files' text from ``location`` (default ``NASDAQ_TRADER_URL``)."""
    location = location or os.environ.get("NASDAQ_TRADER_URL") or DEFAULT_URL
    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        from equity_lake.sources.http import HttpClient

        base = location if location.endswith("/") else location + "/"
        with HttpClient(base_url=base, rate_per_second=2.0) as client:
            return {name: _decode(name, client.get(name).content) for name in FILES}
    folder = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    texts = {}
    for name in FILES:
        path = folder / name
        try:
            texts[name] = _decode(name, path.read_bytes())
        except OSError as exc:
            raise DirectoryError(f"cannot read {path}: {exc.strerror or exc}") from None
    return texts


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def snapshot(location: str | None = None) -> Snapshot:
    """Fetch and parse today's directory (or the one at ``location``)."""
    return parse(fetch_texts(location))
