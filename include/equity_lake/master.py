"""The security master: who was listed, under which ticker, on which day.

A row is a security x symbol period. ``security_id`` is stable across ticker changes and never
reused; delisted securities stay forever. The two questions the rest of the lake asks are
"which security had ticker T on D" and "which securities traded on D" (a security that delists
on D still trades on D).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.lake import keys
from equity_lake.lake.partition import runs
from equity_lake.lake.schemas import (
    CORPORATE_ACTIONS,
    SECURITY_MASTER,
    SECURITY_MASTER_OPTIONAL,
    conform,
)
from equity_lake.lake.store import LakeStore

SOURCES = ("sample", "crsp", "sec")


class MasterError(ValueError):
    """The security master is missing or inconsistent."""


@dataclass(frozen=True)
class MasterBuild:
    master: pa.Table
    actions: pa.Table
    #: what the source has to say about the build (counts, the snapshot day, ...)
    notes: dict[str, object] = field(default_factory=dict)


def with_optional_columns(table: pa.Table) -> pa.Table:
    """Add the optional SECURITY_MASTER columns a table lacks, as nulls (older masters)."""
    for name in SECURITY_MASTER_OPTIONAL:
        if name not in table.column_names:
            field_type = SECURITY_MASTER.field(name).type
            table = table.append_column(name, pa.nulls(table.num_rows, field_type))
    return table


def build(source: str = "sample", store: LakeStore | None = None) -> MasterBuild:
    """The master and corporate actions of ``source``, checked for consistency."""
    if source == "sample":
        from equity_lake.sources.sample import SampleMarket

        market = SampleMarket()
        periods = market.symbol_periods()
        periods = periods.append_column(
            "source", pa.array(["sample"] * periods.num_rows, pa.string())
        )
        master = conform(with_optional_columns(periods), SECURITY_MASTER, "security master")
        actions = conform(market.corporate_actions(), CORPORATE_ACTIONS, "corporate actions")
        notes: dict[str, object] = {}
    elif source == "crsp":
        from equity_lake.sources import crsp

        with crsp.CrspClient() as client:
            built = crsp.build_master(client)
        master, actions, notes = built.master, built.actions, built.notes
    elif source == "sec":
        from equity_lake import master_diff

        master, actions, notes = master_diff.build(store or LakeStore())
    else:
        raise MasterError(f"unknown master source {source!r}; available now: {', '.join(SOURCES)}")
    check(master)
    return MasterBuild(master=sort_master(master), actions=actions, notes=notes)


def sort_master(master: pa.Table) -> pa.Table:
    return master.sort_by([("security_id", "ascending"), ("start_date", "ascending")])


def check(master: pa.Table) -> None:
    """Refuse a master where a period ends before it starts or a ticker has two owners at once."""
    df = master.select(["security_id", "symbol", "start_date", "end_date"]).to_pandas()
    far = dt.date(9999, 12, 31)
    df["end"] = df["end_date"].fillna(far)
    bad = df[df["end"] < df["start_date"]]
    if len(bad):
        row = bad.iloc[0]
        raise MasterError(
            f"security {row.security_id} symbol {row.symbol}: period ends before it starts"
        )
    for column in ("symbol", "security_id"):
        ordered = df.sort_values([column, "start_date"])
        same = ordered[column].eq(ordered[column].shift())
        overlap = same & (ordered["start_date"] <= ordered["end"].shift())
        if overlap.any():
            row = ordered[overlap].iloc[0]
            raise MasterError(
                f"{column} {getattr(row, column)} has overlapping symbol periods at "
                f"{row.start_date}"
            )


def write(store: LakeStore, built: MasterBuild) -> dict[str, object]:
    """Publish the master, the calendar and each security's corporate actions."""
    from concurrent.futures import ThreadPoolExecutor

    master_written = store.write_table_if_changed(keys.SECURITY_MASTER, built.master)
    store.write_table_if_changed(keys.CALENDAR_MASTER, calendar.calendar_table())
    actions = built.actions.sort_by([("security_id", "ascending"), ("ex_date", "ascending")])
    groups = runs(actions.column("security_id").to_numpy())

    def publish(group: tuple[int, int, int]) -> bool:
        sid, lo, hi = group
        return store.write_table_if_changed(keys.corporate_actions(sid), actions.slice(lo, hi - lo))

    with ThreadPoolExecutor(max_workers=16) as pool:
        written = sum(pool.map(publish, groups))
    return {
        "master_written": master_written,
        "securities": len(set(built.master.column("security_id").to_pylist())),
        "symbol_periods": built.master.num_rows,
        "corporate_action_files": len(groups),
        "corporate_action_files_written": written,
        "sessions": calendar.calendar_table().num_rows,
        **built.notes,
    }


class SecurityMaster:
    """Point-in-time look-ups over a loaded master table."""

    def __init__(self, table: pa.Table) -> None:
        self.table = conform(with_optional_columns(table), SECURITY_MASTER, "security master")

    @classmethod
    def load(cls, store: LakeStore) -> SecurityMaster:
        table = store.read_table(keys.SECURITY_MASTER)
        if table is None:
            raise MasterError(
                f"no security master at {store.uri(keys.SECURITY_MASTER)}; "
                "run `equity-lake master build --source sample` first"
            )
        return cls(table)

    def _on(self, day: dt.date) -> pa.Array:
        start = self.table.column("start_date")
        end = self.table.column("end_date")
        scalar = pa.scalar(day, pa.date32())
        started = pc.less_equal(start, scalar)
        not_ended = pc.or_kleene(pc.is_null(end), pc.greater_equal(end, scalar))
        return pc.and_(started, pc.fill_null(not_ended, True))

    def active_on(self, day: dt.date) -> pa.Table:
        """Securities trading on ``day``: security_id, symbol, sorted by symbol."""
        rows = self.table.filter(self._on(day)).select(["security_id", "symbol"])
        return rows.sort_by([("symbol", "ascending"), ("security_id", "ascending")])

    def security_for_symbol(self, symbol: str, day: dt.date) -> int | None:
        """The security that held ``symbol`` on ``day`` (None if nobody did)."""
        keys.symbol(symbol)
        mask = pc.and_(self._on(day), pc.equal(self.table.column("symbol"), symbol))
        hits = self.table.filter(mask).column("security_id").to_pylist()
        return hits[0] if hits else None

    def symbol_history(self, security_id: int) -> pa.Table:
        mask = pc.equal(self.table.column("security_id"), keys.security_id(security_id))
        return self.table.filter(mask).sort_by("start_date")


def trading_day(value: str | dt.date) -> dt.date:
    """Parse ``value`` and insist it is an NYSE session (clear one-line error otherwise)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"date {value!r} is not an ISO date (YYYY-MM-DD)") from None
    if not calendar.is_session(value):
        raise ValueError(f"{value} is not an NYSE trading day")
    return value
