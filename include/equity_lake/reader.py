"""Reading the lake as a researcher does: by ticker or security id and a date range, without
knowing the key layout.

Symbols resolve point in time: on each session the security that held the ticker that day
(a renamed security keeps its history, a reused ticker does not borrow another's). Rows of a
publish that has not committed are never returned (``lake/commits.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import adjust, calendar
from equity_lake import symbols as symbology
from equity_lake.lake import commits, keys
from equity_lake.lake.partition import slices
from equity_lake.lake.schemas import MINUTE_TICKS
from equity_lake.lake.store import LakeStore, read_all
from equity_lake.master import SecurityMaster

#: the longest range ``minute_bars`` reads at once (about 8,000 objects of one security)
MAX_MINUTE_DAYS = 31 * 12


class NotInLake(FileNotFoundError):
    """What was asked for is not in the lake; the message names it (the CLI's exit 2: asking
    again will not help)."""


def securities_by_day(
    master: SecurityMaster, security: str | int, days: list[dt.date]
) -> dict[dt.date, int]:
    """session -> the security a ticker (or an id, on the days it traded) named that day.

    The few listing periods that can match are picked from the master once, then each day
    is looked up in them (a year of 500 securities is 126,000 look-ups)."""
    table = master.table
    if isinstance(security, int) or str(security).isdigit():
        sid = keys.security_id(int(security))
        rows = table.filter(pc.equal(table.column("security_id"), sid))
        periods = [(sid, r["start_date"], r["end_date"]) for r in rows.to_pylist()]
    else:  # a ticker's spellings, in the order ``security_for`` tries them
        forms = symbology.user_forms(symbology.user_symbol(str(security)))
        rows = table.filter(pc.is_in(table.column("symbol"), pa.array(forms, pa.string())))
        found = rows.to_pylist()
        periods = [
            (r["security_id"], r["start_date"], r["end_date"])
            for form in forms
            for r in found
            if r["symbol"] == form
        ]
    out: dict[dt.date, int] = {}
    for day in days:
        for sid, start, end in periods:
            if start <= day and (end is None or day <= end):
                out[day] = sid
                break
    return out


def _narrowed(master: SecurityMaster, wanted: list[str | int]) -> SecurityMaster:
    """The master's rows that ``wanted`` (ids, tickers in any spelling) can name: one filter
    for a panel of hundreds instead of a scan of the whole master per security."""
    ids, forms = [], []
    for item in wanted:
        if isinstance(item, int) or str(item).isdigit():
            ids.append(keys.security_id(int(item)))
        else:
            forms += symbology.user_forms(symbology.user_symbol(str(item)))
    table = master.table
    mask = pc.or_(
        pc.is_in(table.column("security_id"), pa.array(ids, pa.int64())),
        pc.is_in(table.column("symbol"), pa.array(forms, pa.string())),
    )
    return SecurityMaster(table.filter(mask))


def security_for(master: SecurityMaster, typed: str, day: dt.date) -> int | None:
    """The security that held a ticker as a user types it (any spelling: ``BRK-B`` finds
    ``BRK.B``) on ``day``; None if nobody did."""
    for form in symbology.user_forms(symbology.user_symbol(typed)):
        sid = master.security_for_symbol(form, day)
        if sid is not None:
            return sid
    return None


def minute_bars(
    store: LakeStore,
    security: str | int,
    start: dt.date,
    end: dt.date | None = None,
    *,
    master: SecurityMaster | None = None,
) -> pa.Table:
    """One security's committed minute bars (MINUTE_TICKS) of the sessions ``start..end``
    (``end`` None: ``start`` only), oldest first. ``security`` is a ticker, resolved on each
    session, or a security id. NotInLake when the lake holds no bar of it in the range."""
    end = start if end is None else end
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if (end - start).days > MAX_MINUTE_DAYS:
        raise ValueError(f"at most {MAX_MINUTE_DAYS} days of minute bars at once")
    days = calendar.sessions_between(start, end)
    if not days:
        raise ValueError(f"no NYSE session between {start} and {end}")
    master = master or SecurityMaster.load(store)
    held = securities_by_day(master, security, days)
    if not held:
        raise NotInLake(f"no security traded as {security} between {start} and {end}")
    hidden = commits.masks(store, keys.MINUTE_TICKS_DATASET)

    def read(key: str) -> pa.Table | None:
        return commits.read_committed(store, key, hidden, MINUTE_TICKS)

    items = sorted(held.items())
    by_day = read_all(read, [keys.minute_ticks_day(sid, day) for day, sid in items])
    # a closed year's sessions are in folded months: read those of the days without an object
    months = sorted(
        {
            keys.minute_ticks_month(s, d)
            for (d, s), t in zip(items, by_day, strict=True)
            if t is None
        }
    )
    folded = dict(zip(months, read_all(read, months), strict=True))
    parts = []
    for (day, sid), table in zip(items, by_day, strict=True):
        if table is None and folded.get(keys.minute_ticks_month(sid, day)) is not None:
            month = folded[keys.minute_ticks_month(sid, day)]
            table = month.filter(pc.equal(calendar.session_dates(month.column("timestamp")), day))
        if table is not None and table.num_rows:
            parts.append(table)
    if not parts:
        asked = str(start) if start == end else f"{start}..{end}"
        raise NotInLake(
            f"no minute bars of {security} for {asked} in the lake at {store.config.uri}"
        )
    return pa.concat_tables(parts).sort_by([("timestamp", "ascending")])


#: what ``Lake.bars`` returns: a pandas DataFrame, or a pyarrow Table
Output = str
BAR_FIELDS = ("open", "high", "low", "close", "volume")


class Lake:
    """One research handle on a lake: a local folder or S3, configured as the writers are
    (``LAKE_URI`` and the S3 settings), or a ``store`` given.

    It hides the key layout: daily bars across ``history.parquet`` and open months, tickers
    resolved on each date, raw or adjusted as known on a date, only committed rows. Reads of
    many objects run on a thread pool (``lake/store.read_all``). What is not in the lake
    raises ``NotInLake`` naming it.
    """

    def __init__(self, store: LakeStore | None = None) -> None:
        self.store = store or LakeStore()
        self._master: SecurityMaster | None = None

    # --- reference data -------------------------------------------------------------------
    def master(self, as_of: dt.date | None = None) -> pa.Table:
        """The security master: every symbol period, or those listed on ``as_of``."""
        master = self._securities()
        return master.table if as_of is None else master.listed_between(as_of, as_of)

    def calendar(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The NYSE sessions from ``start`` to ``end`` (inclusive)."""
        return calendar.sessions_between(start, end)

    def universe(self, name: str, day: dt.date) -> pa.Table:
        """The members of universe ``name`` on ``day`` (security_id, the ticker then)."""
        from equity_lake import universes

        table = self.store.read_table(keys.universe(name))
        if table is None:
            raise NotInLake(f"no universe {name} in the lake at {self.store.config.uri}")
        return universes.members(table.cast(universes.UNIVERSE_SCHEMA), day)

    # --- prices ---------------------------------------------------------------------------
    def bars(
        self,
        securities: str | int | list[str | int],
        start: dt.date,
        end: dt.date,
        *,
        fields: tuple[str, ...] | list[str] = BAR_FIELDS,
        adjusted: bool = False,
        as_of: dt.date | None = None,
        wide: bool = False,
        output: Output = "pandas",
    ) -> Any:
        """Daily bars of ``securities`` (tickers, each resolved on every session to the
        security that held it then, or security ids) from ``start`` to ``end``.

        Long: one row per (timestamp, security) with ``security_id``, ``symbol`` (the ticker
        that day), ``requested`` (as asked) and ``fields``. ``wide``: sessions x requested
        securities, one field. ``adjusted``: split and dividend adjusted with the actions
        known on ``as_of`` (None: every stored action). ``output``: "pandas" or "arrow".
        """
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        unknown = [f for f in fields if f not in BAR_FIELDS]
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {BAR_FIELDS}")
        if wide and len(fields) != 1:
            raise ValueError("a wide panel holds one field, e.g. fields=['close']")
        if output not in ("pandas", "arrow"):
            raise ValueError(f"output {output!r} is not pandas or arrow")
        wanted = [securities] if isinstance(securities, str | int) else list(securities)
        days = calendar.sessions_between(start, end)
        master = _narrowed(self._securities(), wanted)
        held = {str(s): securities_by_day(master, s, days) for s in wanted}
        never = [s for s, by_day in held.items() if not by_day]
        if never:
            raise NotInLake(f"no security traded as {', '.join(never)} between {start} and {end}")
        hidden = commits.masks(self.store, keys.DAILY_TICKS_DATASET)
        sids = sorted({sid for by_day in held.values() for sid in by_day.values()})

        def read(sid: int) -> Any:
            if adjusted:
                return adjust.adjustment_inputs(self.store, sid, start, end, as_of, hidden=hidden)
            return adjust.read_daily_bars(
                self.store, sid, adjust.months_between(start, end), hidden
            )

        tables = dict(zip(sids, read_all(read, sids), strict=True))
        if adjusted:  # read concurrently above; adjusted here in one pass over them all
            bars = [b for b, _ in tables.values() if b is not None and b.num_rows]
            panel = adjust.adjusted_between(
                pa.concat_tables(bars) if bars else None,
                pa.concat_tables(a for _, a in tables.values()),
                start,
                end,
                as_of,
                by_security=True,
            )
            tables = dict(slices(panel, "security_id"))
        parts = []
        for requested, by_day in held.items():
            for sid in sorted(set(by_day.values())):
                table = tables.get(sid)
                if table is None or table.num_rows == 0:
                    continue
                mine = [d for d, s in by_day.items() if s == sid]
                table = table.filter(
                    pc.is_in(table.column("timestamp"), pa.array(mine, pa.date32()))
                )
                parts.append(
                    table.select(["timestamp", "security_id", "symbol", *fields]).append_column(
                        "requested", pa.array([requested] * table.num_rows, pa.string())
                    )
                )
        found = {p.column("requested")[0].as_py() for p in parts if p.num_rows}
        empty = [s for s in held if s not in found]
        if empty:
            raise NotInLake(
                f"no daily bars of {', '.join(empty)} between {start} and {end} in the lake at "
                f"{self.store.config.uri}"
            )
        long = pa.concat_tables(parts).sort_by(
            [("timestamp", "ascending"), ("requested", "ascending")]
        )
        if not wide:
            return long.to_pandas() if output == "pandas" else long
        frame = long.to_pandas().pivot(index="timestamp", columns="requested", values=fields[0])
        frame = frame.reindex(columns=[str(s) for s in wanted])
        return frame if output == "pandas" else pa.Table.from_pandas(frame)

    def minute_bars(
        self, security: str | int, start: dt.date, end: dt.date | None = None
    ) -> pa.Table:
        """One security's committed minute bars (see ``minute_bars``)."""
        return minute_bars(self.store, security, start, end, master=self._securities())

    # --- fundamentals ---------------------------------------------------------------------
    def fundamentals(
        self, company: str | int, concept: str, as_of: dt.date, *, unit: str | None = None
    ) -> pa.Table:
        """``concept`` for every period as known on ``as_of`` (the filing's value then, not
        a later restatement's). ``company``: a CIK, or a ticker resolved on ``as_of``."""
        from equity_lake.fundamentals import concepts, pointintime

        cik = self._cik(company, as_of)
        facts = self.store.read_table(keys.fundamentals(cik))
        if facts is None:
            raise NotInLake(f"no fundamentals for CIK {cik} in the lake at {self.store.config.uri}")
        return pointintime.latest_as_of(facts, concepts.get(concept).name, as_of, unit=unit)

    def metrics(self, company: str | int, as_of: dt.date) -> pa.Table:
        """Each derived metric's latest value known on ``as_of`` (one row per metric and
        unit: value, as_of_date, period_end, inputs)."""
        cik = self._cik(company, as_of)
        table = self.store.read_table(keys.derived_metrics(cik))
        if table is None:
            raise NotInLake(f"no derived metrics for CIK {cik}; run `equity-lake derive metrics`")
        known = table.filter(pc.less_equal(table.column("as_of_date"), pa.scalar(as_of)))
        latest: dict[tuple[str, str], dict] = {}
        for row in sorted(known.to_pylist(), key=lambda r: r["as_of_date"]):
            latest[(row["metric"], row["unit"])] = row
        return pa.Table.from_pylist([latest[k] for k in sorted(latest)], schema=table.schema)

    def _cik(self, company: str | int, day: dt.date) -> str:
        """A CIK as given (digits), else the CIK of the security a ticker named on ``day``."""
        if isinstance(company, int) or str(company).isdigit():
            return keys.cik(str(company))
        master = self._securities()
        sid = security_for(master, str(company), day)
        if sid is None:
            raise NotInLake(f"no security traded as {company} on {day}")
        cik = next((c for c in master.symbol_history(sid).column("cik").to_pylist() if c), None)
        if cik is None:
            raise NotInLake(f"{company} on {day} has no CIK in the security master")
        return keys.cik(cik)

    def _securities(self) -> SecurityMaster:
        if self._master is None:
            try:
                self._master = SecurityMaster.load(self.store)
            except Exception as exc:  # noqa: BLE001 - one message names what is missing
                raise NotInLake(f"no security master in the lake: {exc}") from exc
        return self._master

    # --- SQL ------------------------------------------------------------------------------
    def duckdb(self) -> Any:
        """A DuckDB connection with one view per dataset, over the lake's objects through
        pyarrow (local folder or S3 alike): ``daily_ticks`` (history and open months as one,
        a month's row winning over history's of the same session), ``minute_ticks`` (folded
        months and day objects as one, the day's row winning),
        ``fundamentals``, ``derived_metrics``, ``security_master``, ``universes`` (with a
        ``universe`` column). Uncommitted rows of a publish in progress are not hidden here;
        ``bars`` hides them."""
        import duckdb
        import pyarrow.dataset as ds

        con = duckdb.connect()
        fs, root = self.store.fs, self.store.root

        def register(
            name: str, prefix: str, pattern: str, schema: pa.Schema | None, depth: int = 0
        ) -> bool:
            """A view of the objects under ``prefix`` ending with ``pattern`` (``depth``: only
            those that many folders below it, e.g. minute days and not folded months)."""
            if prefix.endswith(".parquet"):  # one object
                found = [prefix] if self.store.exists(prefix) else []
            else:
                found = [k for k in self.store.list(prefix) if k.endswith(pattern)]
            if depth:
                found = [k for k in found if k[len(prefix) :].count("/") == depth]
            paths = [f"{root}/{k}" for k in found if "/_" not in k[len(prefix) :]]
            if not paths:
                return False
            con.register(name, ds.dataset(paths, schema=schema, filesystem=fs, format="parquet"))
            return True

        from equity_lake.fundamentals import metrics as derived
        from equity_lake.lake.schemas import DAILY_TICKS, FUNDAMENTALS, SECURITY_MASTER

        def layered(name: str, layers: list[tuple[str, bool]]) -> None:
            """One view over a dataset's folded and finer objects (later layers win a row
            of the same security and timestamp: they are the later writes)."""
            sources = [
                f"select *, {rank} as _rank from {layer}"
                for rank, (layer, there) in enumerate(layers)
                if there
            ]
            if sources:
                con.execute(
                    f"create view {name} as select * exclude (_rank) from ("
                    + " union all ".join(sources)
                    + ") qualify row_number() over (partition by security_id, timestamp "
                    "order by _rank desc) = 1"
                )

        daily = "data/raw/ticks/daily/"
        history = register("_daily_history", daily, "/history.parquet", DAILY_TICKS)
        months = register("_daily_months", daily, "/ticks.parquet", DAILY_TICKS)
        layered("daily_ticks", [("_daily_history", history), ("_daily_months", months)])
        minute = "data/raw/ticks/minute/"
        folded = register("_minute_months", minute, "/ticks.parquet", MINUTE_TICKS, depth=3)
        days = register("_minute_days", minute, "/ticks.parquet", MINUTE_TICKS, depth=4)
        layered("minute_ticks", [("_minute_months", folded), ("_minute_days", days)])
        register("fundamentals", keys.FUNDAMENTALS_PREFIX, "/fundamental.parquet", FUNDAMENTALS)
        register(
            "derived_metrics",
            "data/derived/features/fundamental/",
            "/metrics.parquet",
            derived.METRICS_SCHEMA,
        )
        register("security_master", keys.SECURITY_MASTER, ".parquet", SECURITY_MASTER)
        return con
