"""The security master's read model: who was listed, under which ticker, on which day.

A row is a security x symbol period. ``security_id`` is stable across ticker changes and never
reused; delisted securities stay forever. The two questions the rest of the lake asks are
"which security had ticker T on D" and "which securities traded on D" (a security that delists
on D still trades on D).

Building and publishing the master is ``master_build.py``'s: one builder per source.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from equity_lake import calendar
from equity_lake.lake import keys
from equity_lake.lake.schemas import conform_master
from equity_lake.lake.store import LakeStore

if TYPE_CHECKING:
    pass


class MasterError(ValueError):
    """The security master is missing from the lake."""


class SecurityMaster:
    """Point-in-time look-ups over a loaded master table."""

    def __init__(self, table: pa.Table) -> None:
        self.table = conform_master(table)

    @classmethod
    def load(cls, store: LakeStore) -> SecurityMaster:
        table = store.read_table(keys.SECURITY_MASTER)
        if table is None:
            raise MasterError(
                f"no security master at {store.uri(keys.SECURITY_MASTER)}; "
                "run `equity-lake master build --source sample` first"
            )
        return cls(table)

    def _between(self, first: dt.date, last: dt.date) -> pa.Array:
        """Periods listed on some day of ``[first, last]``: started by ``last``, not ended
        before ``first`` (an open period has no end)."""
        started = pc.less_equal(self.table.column("start_date"), pa.scalar(last, pa.date32()))
        end = self.table.column("end_date")
        not_ended = pc.greater_equal(end, pa.scalar(first, pa.date32()))
        return pc.and_(started, pc.fill_null(not_ended, True))

    def _on(self, day: dt.date) -> pa.Array:
        return self._between(day, day)

    def listed_between(self, first: dt.date, last: dt.date) -> pa.Table:
        """The symbol periods (every column) listed on any day of ``[first, last]``."""
        return self.table.filter(self._between(first, last))

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


# --- until the CLI calls master_build itself ---------------------------------------------------
