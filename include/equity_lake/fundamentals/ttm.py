"""Trailing twelve months (TTM), point in time: one row per concept per date it changed.

Values only change when something is filed, so a company's TTM series is evaluated on the
filing dates of its facts (``filed``), each from what was known that day:

* a flow (revenue, costs, income lines, cash flows, capex, dividends, D&A, R&D, SG&A,
  interest; EPS) is the sum of the four latest discrete quarters known (``quarterly``: filed,
  or derived by difference), only when they are contiguous: each starts the day after the one
  before it ends, so a 53-week year's 14-week quarter still chains, while a gap, a fiscal-year
  change (a transition period is no quarter) or a quarter in another unit breaks the chain and
  gives no row. Where a fiscal year (350-380 days) ends on the latest quarter's end, its
  annual value is the TTM (a 10-K's figure; also the only TTM of EPS, whose fourth quarter is
  never filed);
* a balance (assets, liabilities, equity, cash, debt, shares) is the latest value known, by
  period end.

``as_of_date`` is the filing date from which the row's value was knowable; a restatement gives
a new row from its own filing date and the earlier rows stay, so "the TTM known on D" is the
row with the latest ``as_of_date`` on or before D.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa

from equity_lake.fundamentals import concepts
from equity_lake.fundamentals.pointintime import candidate_rows, latest_by_line, select_line
from equity_lake.fundamentals.quarterly import YEAR_DAYS, quarters_of

TTM_SCHEMA = pa.schema(
    [
        ("cik", pa.string()),
        ("concept", pa.string()),
        ("as_of_date", pa.date32()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("start", pa.date32()),
        ("end", pa.date32()),
        ("accn", pa.string()),
        ("form", pa.string()),
        # flows: how many quarters were summed (4; 0 where the fiscal year's own value is used
        # without a full chain of quarters) and their ends; balances: 0 and []
        ("quarters", pa.int64()),
        ("quarter_ends", pa.list_(pa.date32())),
    ]
)
_ONE_DAY = dt.timedelta(days=1)


def flows() -> list[concepts.Concept]:
    """The duration concepts a TTM sums (share counts are averages, never summed)."""
    return [c for c in concepts.CONCEPTS if c.is_duration and c.unit_kind != "shares"]


def balances() -> list[concepts.Concept]:
    return [c for c in concepts.CONCEPTS if not c.is_duration]


def ttm(cik: str, facts: pa.Table) -> pa.Table:
    """The company's TTM rows (TTM_SCHEMA), by concept, unit and as_of_date."""
    rows: list[dict] = []
    for spec in flows():
        rows += _changes(cik, spec.name, _flow_values(_known_by_day(facts, spec), spec))
    for spec in balances():
        rows += _changes(cik, spec.name, _balance_values(_known_by_day(facts, spec)))
    rows.sort(key=lambda r: (r["concept"], r["unit"], r["as_of_date"]))
    return pa.Table.from_pylist(rows, schema=TTM_SCHEMA)


def _known_by_day(facts: pa.Table, spec: concepts.Concept) -> Iterator[tuple[dt.date, list[dict]]]:
    """(filing day, the concept's candidate facts known that day) on each day one of them
    was filed: the facts are read once, each day is a filter of them."""
    # a period that had not ended when it was filed (a subsequent event, a quarter still
    # running) is no trailing value of that day: left out rather than dated before its end
    rows = [r for r in candidate_rows(facts, spec.name, dt.date.max) if r["end"] <= r["filed"]]
    rows.sort(key=lambda r: r["filed"])
    known: list[dict] = []
    for i, row in enumerate(rows):
        known.append(row)
        if i + 1 == len(rows) or rows[i + 1]["filed"] != row["filed"]:
            yield row["filed"], list(known)


def _flow_values(
    days: Iterator[tuple[dt.date, list[dict]]], spec: concepts.Concept
) -> Iterator[tuple[dt.date, dict]]:
    """(filing day, a TTM value per unit as known that day) for a flow concept."""
    for day, known in days:
        quarters = quarters_of(known, spec)
        years = [
            r
            for r in select_line(latest_by_line(known))
            if r["start"] is not None
            and YEAR_DAYS[0] <= (r["end"] - r["start"]).days + 1 <= YEAR_DAYS[1]
        ]
        for unit in sorted({q["unit"] for q in quarters} | {y["unit"] for y in years}):
            value = _trailing(
                [q for q in quarters if q["unit"] == unit], [y for y in years if y["unit"] == unit]
            )
            if value is not None:
                yield day, value


def _trailing(quarters: list[dict], years: list[dict]) -> dict | None:
    """The TTM of one unit from its quarters and fiscal years known on a day, or None."""
    by_end = {q["end"]: q for q in quarters}
    latest_end = max([*by_end, *(y["end"] for y in years)], default=None)
    if latest_end is None:
        return None
    chain, cursor = [], by_end.get(latest_end)
    while cursor is not None and len(chain) < 4:
        chain.append(cursor)
        cursor = by_end.get(cursor["start"] - _ONE_DAY)
    chain.reverse()
    year = next((y for y in years if y["end"] == latest_end), None)
    ends = [q["end"] for q in chain] if len(chain) == 4 else []
    if year is not None and (not ends or year["start"] == chain[0]["start"]):
        return _value(year, year["start"], year["value"], ends)
    if len(chain) < 4:
        return None  # a gap, a fiscal-year change, or too little history
    latest = max(chain, key=lambda q: (q["filed"], q["accn"]))
    return _value(latest, chain[0]["start"], sum(q["value"] for q in chain), ends)


def _value(source: dict, start: dt.date, value: float, ends: list[dt.date]) -> dict:
    return {
        "value": float(value),
        "unit": source["unit"],
        "start": start,
        "end": ends[-1] if ends else source["end"],
        "accn": source["accn"],
        "form": source["form"],
        "quarters": len(ends),
        "quarter_ends": ends,
    }


def _balance_values(days: Iterator[tuple[dt.date, list[dict]]]) -> Iterator[tuple[dt.date, dict]]:
    """(filing day, the latest balance per unit known that day)."""
    for day, known in days:
        latest: dict[str, dict] = {}
        for row in select_line(latest_by_line(known)):
            held = latest.get(row["unit"])
            if held is None or row["end"] >= held["end"]:
                latest[row["unit"]] = row
        for row in latest.values():
            yield day, {**_value(row, None, row["value"], []), "end": row["end"]}


def _changes(cik: str, concept: str, values: Iterator[tuple[dt.date, dict]]) -> list[dict]:
    """A row where a unit's value, period or source filing changed since its previous row."""
    out, last = [], {}
    for day, value in values:
        key = (value["value"], value["start"], value["end"], value["accn"])
        if last.get(value["unit"]) == key:
            continue
        last[value["unit"]] = key
        out.append({"cik": cik, "concept": concept, "as_of_date": day, **value})
    return out
