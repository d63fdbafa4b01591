"""The ``crsp`` source: CRSP daily bars, names, delistings and distributions through WRDS.

WRDS serves CRSP from PostgreSQL; the ``wrds`` package's ``Connection`` runs the queries. Two
generations of the stock tables exist and both are read (``CRSP_FORMAT``):

* ``ciz`` (current, "v2"): ``dsf_v2`` (``dlycaldt``, ``dlyprc`` + ``dlyprcflg``, ``dlyopen``,
  ``dlyhigh``, ``dlylow``, ``dlyclose``, ``dlyvol``), ``stksecurityinfohist`` (names),
  ``stkdelists``, ``stkdistributions``;
* ``siz`` (legacy, frozen at the end of 2024): ``dsf`` (``prc``, ``openprc``, ``askhi``,
  ``bidlo``, ``vol``), ``dsenames``, ``dsedelist``, ``dsedist``;
* ``auto`` (default): CIZ when ``dsf_v2`` exists for the account, else SIZ.

Identity is the PERMNO: a CRSP-built master gives security ``PERMNO_ID_BASE + permno``, so the
id is derived from the PERMNO, never reused and unchanged by ticker changes.

How a CRSP row becomes a bar (the lake stores bars as traded, and every bar must be
consistent: high >= max(open, close), low <= min(open, close), prices > 0):

* close: SIZ ``prc`` is a flag as much as a price: negative means there was no closing trade
  and it is the bid/ask average, so close = abs(prc) and the bar is counted as a quote (the
  note is logged with the PERMNOs). CIZ gives a positive ``dlyprc`` and says the same with
  ``dlyprcflg`` (``TR`` trade, ``BA`` bid/ask average, ``DP`` delisting price). A zero or
  missing price, or a flag that says there is none (``DA``, ``MP``, ...), gives no bar.
* open: ``openprc``/``dlyopen`` when positive, else the close.
* high/low: SIZ ``askhi``/``bidlo`` are the day's trade extremes only on days with a closing
  trade; on quote days they are the closing ask and bid. CIZ ``dlyhigh``/``dlylow`` are trade
  extremes, missing without trades. They are used only on trade days and only when they
  bracket the open and close; otherwise high/low are the open/close envelope, the narrowest
  range the bar certainly spanned.
* volume: shares, int64 (``vol``/``dlyvol`` rounded); missing volume is 0 and is noted.

Corporate actions: cash distributions are ``dividend`` rows (amount per share), splits and
stock dividends ``split`` rows (ratio = 1 + facpr: 2.0 for 2-for-1, 0.1 for 1-for-10),
ticker changes ``symbol_change``, the first listing ``listing``, and a delisting a
``delisting`` row on the last trading day with ratio = 1 + the delisting return (the value
after delisting over the last price) and amount = the delisting price or payment per share.

Connection (library side, from the environment): ``WRDS_USERNAME``, ``WRDS_PASSWORD`` (or a
``~/.pgpass`` entry), ``WRDS_HOST`` (wrds-pgdata.wharton.upenn.edu), ``WRDS_PORT`` (9737),
``WRDS_DB`` (wrds), ``WRDS_SSLMODE`` (require), ``CRSP_LIBRARY`` (crsp), ``CRSP_FORMAT``.
The connection never prompts: a missing or wrong credential is a one-line error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from equity_lake import symbols
from equity_lake.lake.schemas import CORPORATE_ACTIONS, DAILY_TICKS, SECURITY_MASTER

log = logging.getLogger(__name__)

PERMNO_ID_BASE = 1_000_000_000
FORMATS = ("auto", "ciz", "siz")
DEFAULT_HOST = "wrds-pgdata.wharton.upenn.edu"
DEFAULT_PORT = 9737
DEFAULT_DB = "wrds"
#: PERMNOs per daily query (WRDS is shared; a bounded IN list keeps each query cheap)
QUERY_CHUNK = 500
#: PERMNO range per names/events query when building the master
RANGE_CHUNK = 20_000

#: SIZ exchcd / CIZ primaryexch -> the exchange names the master uses (others are not listed)
SIZ_EXCHANGES = {1: "NYSE", 2: "NYSE American", 3: "NASDAQ", 4: "NYSE Arca", 5: "Cboe BZX"}
CIZ_EXCHANGES = {
    "N": "NYSE",
    "A": "NYSE American",
    "Q": "NASDAQ",
    "R": "NYSE Arca",
    "B": "Cboe BZX",
}
SIZ_ETF_SHRCD = 73
#: CIZ price flags that carry a usable price, and which of them are not a closing trade
CIZ_PRICE_FLAGS = {"TR", "BA", "DP"}
CIZ_QUOTE_FLAGS = {"BA", "DP"}
CIZ_CASH_TYPES = {"CD", "ROC", "CG", "CP"}
CIZ_SPLIT_TYPES = {"FRS", "SD"}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class CrspError(RuntimeError):
    """CRSP could not be reached or read; the message is one line."""


def security_id_for(permno: int) -> int:
    """The lake's security id of a PERMNO (a CRSP-built master)."""
    return PERMNO_ID_BASE + int(permno)


def permno_for(security_id: int) -> int | None:
    """The PERMNO behind a CRSP-derived security id, or None for ids of other masters."""
    permno = int(security_id) - PERMNO_ID_BASE
    return permno if 0 < permno < PERMNO_ID_BASE else None


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    dbname: str = DEFAULT_DB
    username: str = ""
    password: str = field(default="", repr=False)
    sslmode: str = "require"
    library: str = "crsp"
    format: str = "auto"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        fmt = env.get("CRSP_FORMAT", "auto").strip().lower() or "auto"
        if fmt not in FORMATS:
            raise CrspError(f"CRSP_FORMAT={fmt!r} is not one of {', '.join(FORMATS)}")
        library = env.get("CRSP_LIBRARY", "crsp").strip() or "crsp"
        if not _IDENT.fullmatch(library):
            raise CrspError(f"CRSP_LIBRARY={library!r} is not a schema name")
        port = env.get("WRDS_PORT", str(DEFAULT_PORT)).strip() or str(DEFAULT_PORT)
        if not port.isdigit():
            raise CrspError(f"WRDS_PORT={port!r} is not a port number")
        return cls(
            host=env.get("WRDS_HOST", "").strip() or DEFAULT_HOST,
            port=int(port),
            dbname=env.get("WRDS_DB", "").strip() or DEFAULT_DB,
            username=env.get("WRDS_USERNAME", "").strip(),
            password=env.get("WRDS_PASSWORD", ""),
            sslmode=env.get("WRDS_SSLMODE", "").strip() or "require",
            library=library,
            format=fmt,
        )


def connect(settings: Settings):
    """A ``wrds.Connection`` to ``settings``' server, connected without any prompt.

    ``wrds.Connection()`` would build its URL by pasting the user name unquoted (and the
    password quoted with ``/`` left as is) into ``postgresql://user:pw@host:port/db``, fall
    back to WRDS's own host, then ask for credentials on stdin and offer to write a
    ``.pgpass``. A task must never prompt, so the Connection is made with
    ``autoconnect=False`` and given an engine built from a properly quoted URL; its queries
    (``raw_sql``) are the package's own.
    """
    import sqlalchemy as sa
    import wrds

    if not settings.username:
        raise CrspError(
            "WRDS_USERNAME is not set (the Airflow connection wrds_default, or the environment)"
        )
    connect_args = {
        "sslmode": settings.sslmode,
        "application_name": "equity-lake",
        "connect_timeout": 30,
    }
    db = wrds.Connection(
        autoconnect=False,
        wrds_hostname=settings.host,
        wrds_port=settings.port,
        wrds_dbname=settings.dbname,
        wrds_username=settings.username,
        wrds_password=settings.password,
        wrds_connect_args=connect_args,
    )
    url = sa.URL.create(
        "postgresql+psycopg2",
        username=settings.username,
        password=settings.password or None,
        host=settings.host,
        port=settings.port,
        database=settings.dbname,
    )
    try:
        db.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args=connect_args)
        db.connection = db.engine.connect()
    except Exception as exc:  # noqa: BLE001 - psycopg2/sqlalchemy errors: one line, no secret
        raise CrspError(
            f"cannot connect to WRDS at {settings.host}:{settings.port}/{settings.dbname} as "
            f"{settings.username}: {_first_line(exc)}"
        ) from None
    return db


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.strip().splitlines()[:1]) or type(exc).__name__


class CrspClient:
    """Parametrised queries against one library's CIZ or SIZ tables."""

    def __init__(self, settings: Settings | None = None, db: object | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.db = db or connect(self.settings)
        self.format = self._resolve_format()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()

    def __enter__(self) -> CrspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --
    def _table(self, name: str) -> str:
        return f'"{self.settings.library}"."{name}"'

    def _exists(self, name: str) -> bool:
        found = self.query(
            "SELECT coalesce(has_table_privilege(to_regclass(%(name)s), 'SELECT'), false) AS found",
            {"name": f'"{self.settings.library}"."{name}"'},
        )
        return bool(found["found"].iloc[0])

    def _resolve_format(self) -> str:
        fmt = self.settings.format
        if fmt == "auto":
            fmt = "ciz" if self._exists("dsf_v2") else "siz"
        need = "dsf_v2" if fmt == "ciz" else "dsf"
        if not self._exists(need):
            raise CrspError(
                f"{self.settings.library}.{need} is not visible to WRDS user "
                f"{self.settings.username}: the CRSP {fmt.upper()} stock tables need a CRSP "
                "subscription (or set CRSP_FORMAT / CRSP_LIBRARY)"
            )
        return fmt

    def query(self, sql: str, params: dict[str, object]):
        """``raw_sql`` with bound parameters (values are never formatted into the SQL)."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return self.db.raw_sql(sql, params=params, chunksize=None)
        except Exception as exc:  # noqa: BLE001 - driver errors become one line
            raise CrspError(f"CRSP query failed: {_first_line(exc)}") from None

    # -- reads --
    def daily(self, day: dt.date, permnos: Sequence[int]) -> list[dict[str, object]]:
        """Raw daily rows of ``permnos`` on ``day``, QUERY_CHUNK PERMNOs per query."""
        if self.format == "ciz":
            sql = (
                "SELECT permno::bigint AS permno, dlyprc::float8 AS prc, dlyprcflg AS prcflg,"
                " dlyopen::float8 AS open, dlyhigh::float8 AS high, dlylow::float8 AS low,"
                " dlyvol::float8 AS vol"
                f" FROM {self._table('dsf_v2')}"
                " WHERE dlycaldt = %(day)s AND permno = ANY(%(permnos)s)"
            )
        else:
            sql = (
                "SELECT permno::bigint AS permno, prc::float8 AS prc, NULL::text AS prcflg,"
                " openprc::float8 AS open, askhi::float8 AS high, bidlo::float8 AS low,"
                " vol::float8 AS vol"
                f" FROM {self._table('dsf')}"
                " WHERE date = %(day)s AND permno = ANY(%(permnos)s)"
            )
        rows: list[dict[str, object]] = []
        for chunk in _chunks(sorted(set(permnos)), QUERY_CHUNK):
            frame = self.query(sql, {"day": day, "permnos": list(chunk)})
            rows.extend(_records(frame))
        return rows

    def last_day(self, permnos: Sequence[int]) -> dt.date | None:
        """The latest date with a daily row for any of ``permnos`` (why a day came back empty)."""
        table, column = ("dsf_v2", "dlycaldt") if self.format == "ciz" else ("dsf", "date")
        latest: dt.date | None = None
        for chunk in _chunks(sorted(set(permnos)), QUERY_CHUNK):
            frame = self.query(
                f"SELECT max({column}) AS latest FROM {self._table(table)}"
                " WHERE permno = ANY(%(permnos)s)",
                {"permnos": list(chunk)},
            )
            value = _date(frame["latest"].iloc[0]) if len(frame) else None
            if value and (latest is None or value > latest):
                latest = value
        return latest

    def _ranges(self, table: str) -> Iterator[tuple[int, int]]:
        frame = self.query(
            "SELECT min(permno)::bigint AS lo, max(permno)::bigint AS hi"
            f" FROM {self._table(table)}",
            {},
        )
        lo, hi = frame["lo"].iloc[0], frame["hi"].iloc[0]
        if lo is None or _isna(lo):
            return
        for start in range(int(lo), int(hi) + 1, RANGE_CHUNK):
            yield start, min(int(hi), start + RANGE_CHUNK - 1)

    def _by_range(self, table: str, sql: str) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for lo, hi in self._ranges(table):
            rows.extend(_records(self.query(sql, {"lo": lo, "hi": hi})))
        return rows

    def names(self) -> list[dict[str, object]]:
        """Name history: permno, start, end, ticker, trading_symbol, share_class, company,
        exchange (None when not on a covered exchange), is_etf."""
        if self.format == "ciz":
            sql = (
                "SELECT permno::bigint AS permno, secinfostartdt AS first_day,"
                " secinfoenddt AS last_day, ticker, tradingsymbol AS trading_symbol,"
                " shareclass AS share_class,"
                " issuernm AS company, primaryexch AS exch, securitysubtype AS subtype"
                f" FROM {self._table('stksecurityinfohist')}"
                " WHERE permno BETWEEN %(lo)s AND %(hi)s ORDER BY permno, secinfostartdt"
            )
            rows = self._by_range("stksecurityinfohist", sql)
            for r in rows:
                r["exchange"] = CIZ_EXCHANGES.get(str(r.pop("exch") or "").strip())
                r["is_etf"] = str(r.pop("subtype") or "").strip() == "ETF"
        else:
            sql = (
                "SELECT permno::bigint AS permno, namedt AS first_day, nameendt AS last_day,"
                " ticker, tsymbol AS trading_symbol, shrcls AS share_class, comnam AS company,"
                " exchcd::int AS exchcd, shrcd::int AS shrcd"
                f" FROM {self._table('dsenames')}"
                " WHERE permno BETWEEN %(lo)s AND %(hi)s ORDER BY permno, namedt"
            )
            rows = self._by_range("dsenames", sql)
            for r in rows:
                r["exchange"] = SIZ_EXCHANGES.get(_int(r.pop("exchcd")))
                r["is_etf"] = _int(r.pop("shrcd")) == SIZ_ETF_SHRCD
        for r in rows:
            r["start"], r["end"] = _date(r.pop("first_day")), _date(r.pop("last_day"))
        return rows

    def delistings(self) -> dict[int, dict[str, object]]:
        """PERMNO -> its delisting (last trading day, return, value per share)."""
        if self.format == "ciz":
            sql = (
                "SELECT permno::bigint AS permno, delistingdt AS day, delactiontype AS kind,"
                " delret::float8 AS ret, delnextprc::float8 AS price,"
                " deldivamt::float8 AS amount"
                f" FROM {self._table('stkdelists')}"
                " WHERE permno BETWEEN %(lo)s AND %(hi)s"
            )
            rows = self._by_range("stkdelists", sql)
            delisted = [r for r in rows if str(r["kind"] or "N/A").strip() not in ("N/A", "")]
        else:
            sql = (
                "SELECT permno::bigint AS permno, dlstdt AS day, dlstcd::int AS code,"
                " dlret::float8 AS ret, dlprc::float8 AS price, dlamt::float8 AS amount"
                f" FROM {self._table('dsedelist')}"
                " WHERE permno BETWEEN %(lo)s AND %(hi)s"
            )
            rows = self._by_range("dsedelist", sql)
            # codes 100-199: still trading (or halted); 200 and up: the security left
            delisted = [r for r in rows if (_int(r["code"]) or 0) >= 200]
        out: dict[int, dict[str, object]] = {}
        for r in delisted:
            day = _date(r["day"])
            if day is None:
                continue
            value = _positive(r["amount"]) or _positive(abs(_float(r["price"]) or 0.0))
            ret = _float(r["ret"])
            out[int(r["permno"])] = {
                "day": day,
                "ratio": None if ret is None or ret < -1 else 1.0 + ret,
                "amount": value,
            }
        return out

    def distributions(self) -> list[dict[str, object]]:
        """Dividends and splits: permno, ex_date, action, ratio, amount."""
        if self.format == "ciz":
            sql = (
                "SELECT permno::bigint AS permno, disexdt AS ex_date, distype AS kind,"
                " disdivamt::float8 AS amount, disfacpr::float8 AS facpr"
                f" FROM {self._table('stkdistributions')}"
                " WHERE permno BETWEEN %(lo)s AND %(hi)s"
            )
            rows = self._by_range("stkdistributions", sql)
        else:
            sql = (
                "SELECT permno::bigint AS permno, exdt AS ex_date, distcd::int AS code,"
                " divamt::float8 AS amount, facpr::float8 AS facpr"
                f" FROM {self._table('dsedist')}"
                " WHERE permno BETWEEN %(lo)s AND %(hi)s"
            )
            rows = self._by_range("dsedist", sql)
        out = []
        for r in rows:
            action = _distribution_action(self.format, r)
            ex_date = _date(r["ex_date"])
            if action is None or ex_date is None:
                continue
            facpr = _float(r["facpr"])
            out.append(
                {
                    "permno": int(r["permno"]),
                    "ex_date": ex_date,
                    "action": action,
                    "ratio": 1.0 + facpr if action == "split" and facpr is not None else None,
                    "amount": _float(r["amount"]) if action == "dividend" else None,
                }
            )
        return out


def _distribution_action(fmt: str, row: dict[str, object]) -> str | None:
    amount, facpr = _float(row["amount"]), _float(row["facpr"])
    if fmt == "ciz":
        kind = str(row["kind"] or "").strip()
        cash, split = kind in CIZ_CASH_TYPES, kind in CIZ_SPLIT_TYPES
    else:
        # distcd's first digit: 1 cash, 2 stock, 3 cash liquidation, 5 split / stock dividend
        first = (_int(row["code"]) or 0) // 1000
        cash, split = first in (1, 3), first in (2, 5)
    if cash and amount is not None and amount > 0:
        return "dividend"
    if split and facpr is not None and facpr > -1 and facpr != 0:
        return "split"
    return None


# --- bars ---------------------------------------------------------------------------------


@dataclass
class BarNotes:
    """What a day's conversion had to decide, for the task log."""

    quotes: list[int] = field(default_factory=list)
    no_price: list[int] = field(default_factory=list)
    untrusted_range: list[int] = field(default_factory=list)
    no_open: list[int] = field(default_factory=list)
    no_volume: list[int] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        for label, ids in (
            ("closes are bid/ask averages, not trades (prc < 0 / dlyprcflg BA, DP)", self.quotes),
            ("rows have no price (no bar)", self.no_price),
            ("high/low not usable (quote day or outside open/close)", self.untrusted_range),
            ("opens missing (open = close)", self.no_open),
            ("volumes missing (0)", self.no_volume),
        ):
            if ids:
                shown = ", ".join(str(p) for p in ids[:10]) + (" ..." if len(ids) > 10 else "")
                parts.append(f"{len(ids)} {label}: PERMNO {shown}")
        return "; ".join(parts)


def bar_from_row(fmt: str, row: dict[str, object], notes: BarNotes) -> dict[str, float] | None:
    """One CRSP daily row -> open/high/low/close/volume, or None when it has no price."""
    permno = int(row["permno"])  # type: ignore[arg-type]
    prc = _float(row["prc"])
    if fmt == "ciz":
        flag = str(row["prcflg"] or "").strip()
        if prc is None or prc <= 0 or flag not in CIZ_PRICE_FLAGS:
            notes.no_price.append(permno)
            return None
        close, quote = prc, flag in CIZ_QUOTE_FLAGS
    else:
        if prc is None or prc == 0:
            notes.no_price.append(permno)
            return None
        close, quote = abs(prc), prc < 0
    if quote:
        notes.quotes.append(permno)
    open_ = _positive(_float(row["open"]))
    if open_ is None:
        notes.no_open.append(permno)
        open_ = close
    top, bottom = max(open_, close), min(open_, close)
    high, low = _positive(_float(row["high"])), _positive(_float(row["low"]))
    trusted = not quote and high is not None and low is not None and high >= top and low <= bottom
    if not trusted:
        if high is not None or low is not None or quote:
            notes.untrusted_range.append(permno)
        high, low = top, bottom
    vol = _float(row["vol"])
    if vol is None or vol < 0:
        notes.no_volume.append(permno)
        vol = 0.0
    return {"open": open_, "high": high, "low": low, "close": close, "volume": int(round(vol))}


class CrspDailySource:
    """Daily bars from CRSP for a CRSP-built master (``master build --source crsp``)."""

    name = "crsp"
    #: CRSP omits securities without a price that day (halts, no quote): not every one has a bar
    complete = False
    services: tuple[str, ...] = ("wrds",)

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    def daily_bars(self, day: dt.date, universe: pa.Table) -> pa.Table:
        ids = universe.column("security_id").to_pylist()
        syms = universe.column("symbol").to_pylist()
        by_permno: dict[int, tuple[int, str]] = {}
        foreign = []
        for sid, sym in zip(ids, syms, strict=True):
            permno = permno_for(sid)
            if permno is None:
                foreign.append(f"{sym} ({sid})")
            else:
                by_permno[permno] = (sid, sym)
        if foreign:
            raise CrspError(
                f"{len(foreign)} securities are not CRSP securities, e.g. {', '.join(foreign[:5])}:"
                " build the master with `equity-lake master build --source crsp` first"
            )
        notes = BarNotes()
        rows: list[dict[str, object]] = []
        with CrspClient(self._settings or Settings.from_env()) as client:
            fetched = client.daily(day, list(by_permno))
            for row in fetched:
                bar = bar_from_row(client.format, row, notes)
                permno = int(row["permno"])  # type: ignore[arg-type]
                if bar is None or permno not in by_permno:
                    continue
                sid, sym = by_permno[permno]
                rows.append({"security_id": sid, "symbol": sym, "timestamp": day, **bar})
            if not fetched and by_permno:
                last = client.last_day(list(by_permno))
                if last is None or last < day:
                    raise CrspError(
                        f"CRSP ({client.format.upper()}) has no daily rows on {day} for these "
                        f"{len(by_permno)} securities; their last row is {last or 'none'}"
                        + (" (the SIZ tables stop at 2024-12-31)" if client.format == "siz" else "")
                    )
        if notes.summary():
            log.warning("crsp %s: %s", day, notes.summary())
        return pa.Table.from_pylist(rows, schema=DAILY_TICKS)


# --- the master ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CrspMaster:
    master: pa.Table
    actions: pa.Table
    notes: dict[str, object]


def build_master(client: CrspClient) -> CrspMaster:
    """Security master and corporate actions from CRSP's name history and events."""
    names = client.names()
    delisted = client.delistings()
    periods, notes = master_periods(names, delisted)
    actions = _actions(periods, delisted, client.distributions())
    notes["format"] = client.format
    master = pa.Table.from_pylist(
        [
            {
                "security_id": security_id_for(p["permno"]),
                "symbol": p["symbol"],
                "company": p["company"],
                "cik": None,
                "exchange": p["exchange"],
                "start_date": p["start"],
                "end_date": p["end"],
                "source": "crsp",
                "permno": p["permno"],
                "is_etf": p["is_etf"],
            }
            for p in periods
        ],
        schema=SECURITY_MASTER,
    )
    return CrspMaster(master=master, actions=actions, notes=notes)


def master_periods(
    names: list[dict[str, object]], delisted: dict[int, dict[str, object]]
) -> tuple[list[dict[str, object]], dict[str, object]]:
    """CRSP name rows -> symbol periods (merged, clipped at delisting, tickers unique)."""
    notes: dict[str, object] = {"name_rows": len(names)}
    by_permno: dict[int, list[dict[str, object]]] = {}
    for r in names:
        by_permno.setdefault(int(r["permno"]), []).append(r)  # type: ignore[arg-type]
    periods: list[dict[str, object]] = []
    unlisted = 0
    for permno, rows in by_permno.items():
        unlisted += sum(1 for r in rows if r["start"] is None)
        rows = sorted((r for r in rows if r["start"] is not None), key=lambda r: r["start"])  # type: ignore[arg-type, return-value]
        ends = [r["end"] for r in rows if r["end"] is not None]
        final_end = max(ends) if len(ends) == len(rows) and ends else None  # type: ignore[type-var]
        gone = delisted.get(permno)
        mine: list[dict[str, object]] = []
        for r in rows:
            symbol = symbols.from_crsp(r["ticker"], r["trading_symbol"], r["share_class"])
            start, end = r["start"], r["end"]
            if symbol is None or r["exchange"] is None:
                unlisted += 1
                continue
            if gone is not None:
                if start > gone["day"]:
                    continue
                end = min(end or gone["day"], gone["day"])
            period = {
                "permno": permno,
                "symbol": symbol,
                "ticker": str(r["ticker"]).strip().upper(),
                "share_class": str(r["share_class"] or "").strip().upper(),
                "company": r["company"],
                "exchange": r["exchange"],
                "is_etf": bool(r["is_etf"]),
                "start": start,
                "end": end,
            }
            mine.append(period)
        mine = _merge_adjacent(mine)
        if mine and gone is None and mine[-1]["end"] == final_end:
            mine[-1]["end"] = None  # still listed when the data ends
        periods.extend(mine)
    notes["not_listed_name_rows"] = unlisted
    notes["symbol_overlaps_trimmed"] = _unique_symbols(periods)
    return _merge_adjacent(periods), notes


#: name rows that differ only in columns the master does not keep (SIC code, CUSIP, ...) and
#: follow each other within a week are one symbol period
_SAME_PERIOD = ("permno", "symbol", "company", "exchange", "is_etf", "share_class")


def _merge_adjacent(periods: list[dict[str, object]]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for p in sorted(periods, key=lambda p: (p["permno"], p["start"])):  # type: ignore[arg-type, return-value]
        last = out[-1] if out else None
        if (
            last is not None
            and all(last[k] == p[k] for k in _SAME_PERIOD)
            and last["end"] is not None
            and p["start"] <= last["end"] + dt.timedelta(days=7)  # type: ignore[operator]
        ):
            last["end"] = p["end"]
        else:
            out.append(p)
    return out


def _overlaps(periods: list[dict[str, object]]) -> list[tuple[dict, dict]]:
    far = dt.date(9999, 12, 31)
    ordered = sorted(periods, key=lambda p: (p["symbol"], p["start"]))
    pairs = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a["symbol"] == b["symbol"] and b["start"] <= (a["end"] or far):
            pairs.append((a, b))
    return pairs


def _unique_symbols(periods: list[dict[str, object]]) -> int:
    """Make a symbol mean one security at a time: add share classes, then trim leftovers."""
    for a, b in _overlaps(periods):
        if a["permno"] != b["permno"]:
            for p in (a, b):
                p["symbol"] = symbols.with_class(p["symbol"], p["share_class"])  # type: ignore[arg-type]
    trimmed = 0
    while pairs := _overlaps(periods):
        touched: set[int] = set()
        dropped: set[int] = set()
        for a, b in pairs:
            if id(a) in touched or id(b) in touched:
                continue  # resolved on the next pass
            touched.update((id(a), id(b)))
            trimmed += 1
            cut = b["start"] - dt.timedelta(days=1)  # type: ignore[operator]
            if cut >= a["start"]:
                a["end"] = cut
            else:
                dropped.add(id(a))
        periods[:] = [p for p in periods if id(p) not in dropped]
    return trimmed


def _actions(
    periods: list[dict[str, object]],
    delisted: dict[int, dict[str, object]],
    distributions: list[dict[str, object]],
) -> pa.Table:
    rows: list[dict[str, object]] = []
    by_permno: dict[int, list[dict[str, object]]] = {}
    for p in periods:
        by_permno.setdefault(p["permno"], []).append(p)  # type: ignore[arg-type]
    for permno, mine in by_permno.items():
        sid = security_id_for(permno)
        mine.sort(key=lambda p: p["start"])  # type: ignore[arg-type, return-value]
        rows.append(_action(sid, mine[0]["start"], "listing", new=mine[0]["symbol"]))
        for a, b in zip(mine, mine[1:], strict=False):
            if a["symbol"] != b["symbol"]:
                rows.append(
                    _action(sid, b["start"], "symbol_change", old=a["symbol"], new=b["symbol"])
                )
        gone = delisted.get(permno)
        if gone is not None and mine[-1]["end"] == gone["day"]:
            rows.append(
                _action(
                    sid,
                    gone["day"],
                    "delisting",
                    ratio=gone["ratio"],
                    amount=gone["amount"],
                    old=mine[-1]["symbol"],
                )
            )
    # one event per security, day and kind (the actions files' merge key): same-day cash
    # distributions (a regular and a special dividend) add up, same-day splits compound
    same_day: dict[tuple[object, ...], dict[str, object]] = {}
    for d in distributions:
        if d["permno"] not in by_permno:
            continue
        sid = security_id_for(d["permno"])  # type: ignore[arg-type]
        held = same_day.get((sid, d["ex_date"], d["action"]))
        if held is None:
            same_day[sid, d["ex_date"], d["action"]] = _action(
                sid,
                d["ex_date"],
                d["action"],  # type: ignore[arg-type]
                ratio=d["ratio"],
                amount=d["amount"],
            )
        elif d["action"] == "dividend":
            held["amount"] += d["amount"]  # type: ignore[operator]
        else:
            held["ratio"] *= d["ratio"]  # type: ignore[operator]
    rows.extend(same_day.values())
    rank = {"listing": 0, "symbol_change": 1, "split": 2, "dividend": 3, "delisting": 4}
    rows.sort(key=lambda r: (r["security_id"], r["ex_date"], rank[r["action"]]))
    return pa.Table.from_pylist(rows, schema=CORPORATE_ACTIONS)


def _action(
    sid: int,
    day: object,
    action: str,
    *,
    ratio: object = None,
    amount: object = None,
    old: object = None,
    new: object = None,
) -> dict[str, object]:
    return {
        "security_id": sid,
        "ex_date": day,
        "action": action,
        "ratio": ratio,
        "amount": amount,
        "old_symbol": old,
        "new_symbol": new,
    }


# --- small conversions (pandas' nullable values -> Python) --------------------------------


def _records(frame) -> list[dict[str, object]]:
    return [
        {k: (None if _isna(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _isna(value: object) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _float(value: object) -> float | None:
    if value is None or _isna(value):
        return None
    return float(value)  # type: ignore[arg-type]


def _int(value: object) -> int | None:
    f = _float(value)
    return None if f is None else int(f)


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _date(value: object) -> dt.date | None:
    if value is None or _isna(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date") and callable(value.date):
        return value.date()  # pandas Timestamp
    return dt.date.fromisoformat(str(value)[:10])


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
