"""Discrete quarters of a flow concept, as known on a date, derived where none was filed.

10-Qs report income-statement flows for the quarter (and year to date) but cash flows only
year to date; 10-Ks report the year and no fourth quarter. So, per tag and unit, from the
periods known on the date (each from its latest filing):

1. a filed period of 80-105 days is a quarter (52/53-week years have 13- and 14-week ones);
2. two periods with the same start whose ends are a quarter apart give that quarter by
   difference (six months - three months = Q2, year - nine months = Q4: cash-flow year to date
   to quarterly);
3. a year (350-380 days) less the three quarters that precede it gives Q4 when no nine-month
   figure exists.

Differences only ever combine values of one line (the concept's same-line tags, or one
fallback tag; see ``concepts``) and one unit, each period's value from its latest filing. A
derived quarter is known from the latest filing among its inputs (``filed``/``accn`` are that
filing's), and says how it was made (``method``). Where a quarter was filed under one line and
derived under another, the filed one wins; otherwise the same-line value wins over a fallback.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pyarrow as pa

from equity_lake.fundamentals import concepts
from equity_lake.fundamentals.pointintime import (
    RESULT_SCHEMA,
    candidate_rows,
    latest_by_line,
)

QUARTER_DAYS = (80, 105)
YEAR_DAYS = (350, 380)

QUARTERLY_SCHEMA = RESULT_SCHEMA.append(pa.field("derived", pa.bool_())).append(
    pa.field("method", pa.string())
)
_ONE_DAY = dt.timedelta(days=1)


def _days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def _is_quarter(start: dt.date, end: dt.date) -> bool:
    return QUARTER_DAYS[0] <= _days(start, end) <= QUARTER_DAYS[1]


def quarters_as_of(
    table: pa.Table, concept: str, as_of: dt.date, *, unit: str | None = None
) -> pa.Table:
    """Every discrete quarter of ``concept`` knowable on ``as_of`` (filed or derived)."""
    spec = concepts.get(concept)
    if not spec.is_duration:
        raise ValueError(f"{concept} is an instant (a balance): it has no quarterly flow")
    ordered = quarters_of(candidate_rows(table, concept, as_of, unit), spec)
    columns = {f.name: [r.get(f.name) for r in ordered] for f in QUARTERLY_SCHEMA}
    columns["concept"] = [concept] * len(ordered)
    return pa.Table.from_pydict(columns, schema=QUARTERLY_SCHEMA)


def quarters_of(candidates: list[dict], spec: concepts.Concept) -> list[dict]:
    """The quarters of ``candidates`` (``candidate_rows`` of one duration concept, those known
    on the day asked about), ordered by period: for callers that ask about many days."""
    by_line = latest_by_line(candidates)
    series: dict[tuple, list[dict]] = defaultdict(list)
    for (line, _start, _end, row_unit), row in by_line.items():
        series[(line, row_unit)].append(row)
    chosen: dict[tuple, dict] = {}
    for rows in series.values():
        found = derive(rows) if spec.additive else _filed_quarters(rows)
        for q in found:
            key = (q["start"], q["end"], q["unit"])
            held = chosen.get(key)
            if held is None or (q["derived"], q["line"]) < (held["derived"], held["line"]):
                chosen[key] = q
    return sorted(chosen.values(), key=lambda r: (r["end"], r["start"], r["unit"]))


def derive(rows: list[dict]) -> list[dict]:
    """Quarters of one tag and unit: those filed, then by difference (rules 2 and 3)."""
    durations = [r for r in rows if r["start"] is not None]
    quarters = {(q["start"], q["end"]): q for q in _filed_quarters(durations)}

    by_start: dict[dt.date, list[dict]] = defaultdict(list)
    for row in durations:
        by_start[row["start"]].append(row)
    for group in by_start.values():
        group.sort(key=lambda r: r["end"])
        for i, shorter in enumerate(group):
            for longer in group[i + 1 :]:
                start = shorter["end"] + _ONE_DAY
                if (start, longer["end"]) in quarters or not _is_quarter(start, longer["end"]):
                    continue
                quarters[(start, longer["end"])] = _derived(
                    longer, [shorter], start, "ytd_difference"
                )

    for year in durations:
        if not YEAR_DAYS[0] <= _days(year["start"], year["end"]) <= YEAR_DAYS[1]:
            continue
        chain, cursor = [], year["start"]
        for _ in range(3):
            nxt = next((q for (s, _e), q in quarters.items() if s == cursor), None)
            if nxt is None:
                break
            chain.append(nxt)
            cursor = nxt["end"] + _ONE_DAY
        if len(chain) < 3 or (cursor, year["end"]) in quarters:
            continue
        if _is_quarter(cursor, year["end"]):
            quarters[(cursor, year["end"])] = _derived(year, chain, cursor, "annual_less_quarters")
    return list(quarters.values())


def _filed_quarters(rows: list[dict]) -> list[dict]:
    return [
        {**r, "derived": False, "method": "reported"}
        for r in rows
        if r["start"] is not None and _is_quarter(r["start"], r["end"])
    ]


def _derived(total: dict, parts: list[dict], start: dt.date, method: str) -> dict:
    """``total`` less ``parts`` for the quarter from ``start``; known from its latest input."""
    latest = max([total, *parts], key=lambda r: (r["filed"], r["accn"]))
    return {
        **latest,
        "start": start,
        "end": total["end"],
        "value": total["value"] - sum(p["value"] for p in parts),
        "unit": total["unit"],
        "derived": True,
        "method": method,
    }
