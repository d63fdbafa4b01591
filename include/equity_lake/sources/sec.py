"""SEC EDGAR: companyfacts, submissions, the daily form index and the nightly bulk archive.

Every request goes through the shared :class:`HttpClient` (retries with backoff on 429, 5xx
and timeouts; 404 is :class:`NotFound`). The SEC asks every client to declare itself with a
User-Agent naming a person or company and a contact e-mail, and to stay under 10 requests per
second in total: the client refuses to start without the first, and its limiter enforces
``SEC_MAX_RPS / SEC_RATE_SHARERS`` per process (the Airflow pool ``sec_api`` bounds how many
processes share the budget).

Configuration (the environment, or the Airflow connection ``sec_edgar`` exported into it):

- ``SEC_USER_AGENT``: e.g. ``"Jane Doe jane@example.com"`` (required)
- ``SEC_DATA_URL``: the JSON API (default ``https://data.sec.gov``)
- ``SEC_WWW_URL``: the archives, for the daily index and ``companyfacts.zip``
  (default ``https://www.sec.gov``)
- ``SEC_MAX_RPS`` (default and ceiling 10), ``SEC_RATE_SHARERS`` (default 1),
  ``SEC_TIMEOUT_SECONDS`` (default 30)
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from equity_lake.lake import keys
from equity_lake.sources.http import HttpClient, NotFound, SourceError

DEFAULT_DATA_URL = "https://data.sec.gov"
DEFAULT_WWW_URL = "https://www.sec.gov"
#: the SEC's fair-access ceiling, in requests per second across all of a user's clients
SEC_MAX_RPS = 10.0
COMPANYFACTS_ARCHIVE = "/Archives/edgar/daily-index/xbrl/companyfacts.zip"

#: filings that carry financial statements in XBRL: what makes a company worth re-fetching
FUNDAMENTAL_FORMS = frozenset(
    {
        "10-K",
        "10-K/A",
        "10-Q",
        "10-Q/A",
        "10-KT",
        "10-KT/A",
        "10-QT",
        "10-QT/A",
        "20-F",
        "20-F/A",
        "40-F",
        "40-F/A",
    }
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


class SecConfigError(ValueError):
    """The EDGAR client is not configured (no User-Agent, a bad URL or rate)."""


@dataclass(frozen=True)
class SecSettings:
    """Who we are to the SEC, where EDGAR is, and how fast this process may call it."""

    user_agent: str
    data_url: str = DEFAULT_DATA_URL
    www_url: str = DEFAULT_WWW_URL
    requests_per_second: float = SEC_MAX_RPS
    timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecSettings:
        env = os.environ if environ is None else environ
        agent = " ".join(env.get("SEC_USER_AGENT", "").split())
        if not agent or not _EMAIL.search(agent):
            raise SecConfigError(
                "SEC EDGAR requires a User-Agent naming you and a contact e-mail: set "
                "SEC_USER_AGENT='Your Name you@example.com' (or, in Airflow, the connection "
                'sec_edgar with extra {"user_agent": "..."})'
                + (f"; got {agent!r}" if agent else "")
            )
        total = _number(env, "SEC_MAX_RPS", SEC_MAX_RPS)
        if not 0 < total <= SEC_MAX_RPS:
            raise SecConfigError(f"SEC_MAX_RPS must be in (0, {SEC_MAX_RPS:g}], got {total:g}")
        sharers = _number(env, "SEC_RATE_SHARERS", 1)
        if sharers < 1:
            raise SecConfigError(f"SEC_RATE_SHARERS must be >= 1, got {sharers:g}")
        return cls(
            user_agent=agent,
            data_url=_url(env, "SEC_DATA_URL", DEFAULT_DATA_URL),
            www_url=_url(env, "SEC_WWW_URL", DEFAULT_WWW_URL),
            requests_per_second=total / sharers,
            timeout=_number(env, "SEC_TIMEOUT_SECONDS", 30.0),
        )


@dataclass(frozen=True)
class Filing:
    """One filing as listed by the submissions API or the daily index."""

    cik: str
    form: str
    filed: dt.date
    accn: str


class SecClient:
    """The EDGAR endpoints the fundamentals dataset needs, over one shared rate limit."""

    def __init__(self, settings: SecSettings | None = None) -> None:
        self.settings = settings or SecSettings.from_env()
        headers = {"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"}
        common = {
            "headers": headers,
            "rate_per_second": self.settings.requests_per_second,
            "timeout": self.settings.timeout,
        }
        self.data = HttpClient(base_url=self.settings.data_url, **common)
        self.www = HttpClient(base_url=self.settings.www_url, **common)
        self.www.limiter = self.data.limiter  # one budget for both hosts

    def close(self) -> None:
        self.data.close()
        self.www.close()

    def __enter__(self) -> SecClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def companyfacts(self, cik: object) -> dict[str, Any]:
        """Every XBRL fact the company filed; :class:`NotFound` if EDGAR has none for it."""
        return self.data.get_json(f"/api/xbrl/companyfacts/CIK{keys.cik(cik)}.json")

    def submissions(self, cik: object) -> dict[str, Any]:
        """The company's filing history (its most recent filings, at least a year's)."""
        return self.data.get_json(f"/submissions/CIK{keys.cik(cik)}.json")

    def daily_index(self, day: dt.date) -> list[Filing]:
        """Every filing disseminated on ``day``; empty when EDGAR has no index (weekends)."""
        quarter = (day.month - 1) // 3 + 1
        path = f"/Archives/edgar/daily-index/{day.year}/QTR{quarter}/master.{day:%Y%m%d}.idx"
        try:
            response = self.www.get(path)
        except NotFound:
            return []
        return parse_daily_index(response.text, path)

    def download_companyfacts_archive(self, sink: BinaryIO) -> int:
        """Stream the nightly ``companyfacts.zip`` (about 1.4 GB) into ``sink``; its size."""
        self.www.get(COMPANYFACTS_ARCHIVE, sink=sink)
        return sink.tell()


def parse_daily_index(text: str, where: str = "daily index") -> list[Filing]:
    """Rows of an EDGAR ``master.YYYYMMDD.idx``: ``CIK|Company Name|Form Type|Date Filed|File``.

    The header block ends at a line of dashes; company names may themselves contain ``|``,
    so the fields are taken from both ends of the line.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("-----")) + 1
    except StopIteration:
        raise SourceError(f"{where}: no header line of dashes; not an EDGAR index") from None
    filings = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 5:
            raise SourceError(f"{where} line {number}: expected 5 fields, got {line!r}")
        try:
            filed = _index_date(parts[-2])
            cik = keys.cik(parts[0].strip())
        except ValueError as exc:
            raise SourceError(f"{where} line {number}: {exc}") from None
        accn = parts[-1].strip().rsplit("/", 1)[-1].removesuffix(".txt")
        filings.append(Filing(cik=cik, form=parts[-3].strip(), filed=filed, accn=accn))
    return filings


def filings_from_submissions(doc: Mapping[str, Any]) -> list[Filing]:
    """The filings of a submissions document's ``recent`` block (columnar arrays)."""
    try:
        cik = keys.cik(doc["cik"])
        recent = doc["filings"]["recent"]
        rows = zip(recent["accessionNumber"], recent["form"], recent["filingDate"], strict=True)
        return [
            Filing(cik=cik, form=form, filed=dt.date.fromisoformat(filed), accn=accn)
            for accn, form, filed in rows
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"submissions document is malformed: {exc!r}") from None


def fundamental_filings(filings: Iterable[Filing], first: dt.date, last: dt.date) -> list[Filing]:
    """The 10-K/10-Q (and amendment, 20-F, 40-F) filings filed from ``first`` to ``last``."""
    return [f for f in filings if f.form in FUNDAMENTAL_FORMS and first <= f.filed <= last]


def _index_date(text: str) -> dt.date:
    text = text.strip()
    if len(text) == 8 and text.isdigit():
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return dt.date.fromisoformat(text)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        return float(raw)
    except ValueError:
        raise SecConfigError(f"{name} must be a number, got {raw!r}") from None


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    url = env.get(name, "").strip() or default
    if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", url):
        raise SecConfigError(f"{name} must be an http(s) URL, got {url!r}")
    return url.rstrip("/")
